import ArgumentParser
import Foundation
import Models
import Pipeline
import SafeTensors
import TensorCore

struct BertBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bert-bench",
        abstract: "Time the BERT-base encoder at batch 1/4 × sequence 128/512 on the CPU and the GPU.",
        discussion: """
            The classic CPU-vs-GPU BERT inference comparison: bert-base-uncased's encoder on inputs of \
            [UNK] repeated to the sequence length, forward pass only, timed after warm-up. Random weights \
            of the real shape are synthesised (timing does not depend on values); --weights takes a \
            Hugging Face BERT folder instead.
            """)

    @Option(help: "cpu, gpu or both (default: both when a Vulkan GPU exists, else cpu; lavapipe only with --device gpu).")
    var device: DeviceChoice?


    @Option(help: "Batch sizes, comma-separated.")
    var batch = IntegerList(argument: "1,4")!

    @Option(name: .customLong("seq"), help: "Sequence lengths, comma-separated.")
    var sequence = IntegerList(argument: "128,512")!

    @Option(help: "Timed runs per configuration (after 2 warm-up runs).")
    var runs = 50

    @OptionGroup var backendOptions: BackendOptions

    @Option(help: "A Hugging Face BERT folder (model.safetensors, config.json) instead of random weights.")
    var weights: String?

    @Flag(help: "Measure each device's sgemm peak and show the fraction reached.")
    var peak = false

    @Flag(help: "Print the results as JSON.")
    var json = false

    @Flag(help: "Print the table as Markdown.")
    var markdown = false

    func validate() throws {
        guard runs > 0 else { throw ValidationError("--runs must be positive") }
    }

    func run() throws {
        let devices = (device ?? DeviceChoice.defaultChoice).devices
        var rows: [String: [BertBenchmark.Row]] = [:]
        var peaks: [String: Double] = [:]
        var names: [String: String] = [:]
        var configuration = BertConfiguration()
        for device in devices {
            let backend = try backendOptions.benchmarkBackend(for: device)
            names[device.rawValue] = backend.name
            let benchmark: BertBenchmark
            if let weights {
                let folder = URL(fileURLWithPath: weights)
                configuration = try BertConfiguration.load(folder.appendingPathComponent("config.json"))
                let file = try SafeTensorsFile(url: folder.appendingPathComponent("model.safetensors"))
                benchmark = BertBenchmark(model: try BertModel(
                    configuration: configuration,
                    weights: WeightSource(files: [file], backend: backend, keyMap: CheckpointKeyMap.bertFolder).root))
            } else {
                benchmark = try BertBenchmark(randomWeightsOn: backend)
            }
            if peak { peaks[device.rawValue] = PeakThroughput.measure(on: backend) }
            for b in batch.values {
                for s in sequence.values {
                    guard s <= configuration.maxPositionEmbeddings else {
                        throw ValidationError("sequence \(s) is longer than the model's \(configuration.maxPositionEmbeddings) positions")
                    }
                    let row = try benchmark.run(device: device.rawValue, batch: b, length: s, runs: runs) { done in
                        if !json { Progress.line("\(device.rawValue.uppercased()) batch \(b) seq \(s): run \(done)/\(runs)") }
                    }
                    rows[device.rawValue, default: []].append(row)
                }
            }
            if !json { Progress.clear() }
        }

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let report = BertBenchReport(devices: names, peakGFLOPPerSecond: peaks.mapValues { $0 / 1e9 },
                                         rows: devices.flatMap { rows[$0.rawValue] ?? [] })
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }

        print("BERT encoder (\(weights == nil ? "bert-base-uncased shape, random weights" : weights!)), " +
              "forward pass, inputs of [UNK], \(runs) runs after warm-up")
        for device in devices {
            let peakText = peaks[device.rawValue].map { String(format: ", sgemm peak %.1f GFLOP/s", $0 / 1e9) } ?? ""
            print("\(device.rawValue.uppercased()): \(names[device.rawValue] ?? "")\(peakText)")
        }
        var header = ["batch × seq"]
        for device in devices {
            let d = device.rawValue.uppercased()
            header += ["\(d) ms/it (median)", "\(d) min", "\(d) GFLOP/s"]
            if peak { header.append("\(d) % peak") }
        }
        if devices.count == 2 { header.append("GPU speedup") }
        var table = TextTable(header: header)
        for (i, row) in (rows[devices[0].rawValue] ?? []).enumerated() {
            var cells = ["\(row.batch) × \(row.length)"]
            for device in devices {
                guard let r = rows[device.rawValue]?[i] else { continue }
                cells += [String(format: "%.1f", r.timing.median), String(format: "%.1f", r.timing.minimum),
                          String(format: "%.1f", r.gflopPerSecond)]
                if peak, let p = peaks[device.rawValue] {
                    cells.append(String(format: "%.0f%%", 100 * r.gflopPerSecond * 1e9 / p))
                }
            }
            if devices.count == 2, let cpu = rows["cpu"]?[i], let gpu = rows["gpu"]?[i] {
                // As the classic comparison writes it: (cpu − gpu) / gpu.
                cells.append(String(format: "%.0f%%", 100 * (cpu.timing.median - gpu.timing.median) / gpu.timing.median))
            }
            table.append(cells)
        }
        print(table.render(markdown: markdown))
    }
}

struct BertBenchReport: Codable {
    let devices: [String: String]
    let peakGFLOPPerSecond: [String: Double]
    let rows: [BertBenchmark.Row]
}
