import Models
import TensorCore

/// The classic BERT inference benchmark: bert-base-uncased's encoder on
/// inputs of [UNK] repeated to the sequence length (no special tokens),
/// forward pass only, timed after warm-up.
public struct BertBenchmark: Sendable {
    public struct Row: Sendable, Codable {
        public let device: String
        public let batch: Int
        public let length: Int
        /// Milliseconds per forward pass.
        public let timing: TimingSummary
        public let gflop: Double
        /// With `profile`: one more forward pass, op by op.
        public var profile: OpProfile?
        /// On a GPU: what the host recorded, submitted and waited for in the last timed pass.
        public var commands: CommandStatistics?

        public var gflopPerSecond: Double { gflop / (timing.median / 1000) }
    }

    /// bert-base-uncased's [UNK].
    public static let unknownTokenID: Int32 = 100

    public let model: BertModel

    public init(model: BertModel) {
        self.model = model
    }

    /// Random weights of bert-base-uncased's shape (timing does not depend on values).
    public init(randomWeightsOn backend: any Backend, configuration: BertConfiguration = BertConfiguration()) throws {
        model = try BertModel(configuration: configuration, weights: WeightSource(randomWithSeed: 42, backend: backend).root)
    }

    public func flops(batch: Int, length: Int) throws -> Double {
        let counter = FLOPCounter()
        let shadow = try BertModel(configuration: model.configuration,
                                   weights: WeightSource(randomWithSeed: 0, backend: counter).root)
        _ = try shadow(ids: inputs(batch: batch, length: length))
        return counter.tally.total
    }

    func inputs(batch: Int, length: Int) -> [[Int32]] {
        let unknown = min(Self.unknownTokenID, Int32(model.configuration.vocabSize - 1))
        return Array(repeating: Array(repeating: unknown, count: length), count: batch)
    }

    /// Times `runs` forward passes after `warmup` untimed ones.
    /// With `profile`, one more forward pass runs with every op timed.
    public func run(device: String, batch: Int, length: Int, runs: Int, warmup: Int = 2, profile: Bool = false,
                    progress: (Int) -> Void = { _ in }) throws -> Row {
        let ids = inputs(batch: batch, length: length)
        let backend = model.wordEmbeddings.backend
        for _ in 0..<warmup {
            _ = try model(ids: ids)
            backend.synchronize()
        }
        var samples: [Double] = []
        var commands: CommandStatistics?
        for run in 0..<runs {
            let watch = Stopwatch()
            commands = try recordedCommands(on: backend) {
                _ = try model(ids: ids)
                backend.synchronize()
            }
            samples.append(watch.milliseconds)
            progress(run + 1)
        }
        var row = Row(device: device, batch: batch, length: length, timing: TimingSummary(samples),
                      gflop: try flops(batch: batch, length: length) / 1e9)
        row.commands = commands
        if profile {
            backend.beginProfile()
            _ = try model(ids: ids)
            row.profile = backend.endProfile()
        }
        return row
    }
}
