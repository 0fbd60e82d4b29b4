import Pipeline
import Schedulers

/// The settings `/sdapi/v1/options` reads and writes, by A1111's names;
/// a request's `override_settings` applies the same names to itself alone.
/// Those sdgen acts on are checked (a wrong type or value is a 422 naming
/// it); others are kept and echoed, as A1111 keeps settings it does not know.
public struct ServerOptions: Sendable, Equatable {
    /// A1111's `randn_source`: where the starting noise comes from.
    public enum NoiseSource: String, Sendable, CaseIterable {
        /// torch's CUDA generator (Philox), A1111's default: its seeds on NVIDIA GPUs.
        case gpu = "GPU"
        /// torch's CPU generator (Mersenne Twister): diffusers' seeds, and the CLI's default.
        case cpu = "CPU"
        /// A1111's own Philox, equal to CUDA's.
        case nv = "NV"

        public var randomSource: RandomSourceKind { self == .cpu ? .torch : .philox }
    }

    /// The loaded model's title (`/sd-models`).
    public var modelCheckpoint: String
    /// A1111's "Clip skip": 1 uses the text encoder's last layer (sdgen's clip skip 0).
    public var clipStopAtLastLayers = 1
    public var noiseSource = NoiseSource.gpu
    /// A1111's eta noise seed delta (ENSD).
    public var etaNoiseSeedDelta: UInt64 = 0
    /// With a tiny autoencoder attached (`--preview-vae`): decode the progress preview every this
    /// many steps (A1111's default 10; 0: never, leaving the cheap approximation).
    public var previewEverySteps = 10
    /// Settings sdgen does not act on, as last set.
    public var others: [String: JSONValue] = [:]

    public init(modelCheckpoint: String) {
        self.modelCheckpoint = modelCheckpoint
    }

    enum Key {
        static let model = "sd_model_checkpoint"
        static let clipStop = "CLIP_stop_at_last_layers"
        static let noiseSource = "randn_source"
        static let noiseSeedDelta = "eta_noise_seed_delta"
        static let previewEvery = "show_progress_every_n_steps"
    }

    /// The options as `GET /sdapi/v1/options` answers them.
    public var json: JSONValue {
        var object = others
        object[Key.model] = .string(modelCheckpoint)
        object[Key.clipStop] = JSONValue(clipStopAtLastLayers)
        object[Key.noiseSource] = .string(noiseSource.rawValue)
        object[Key.noiseSeedDelta] = .number(Double(etaNoiseSeedDelta))
        object[Key.previewEvery] = JSONValue(previewEverySteps)
        return .object(object)
    }

    /// These options with `changes` applied, each checked; the whole set
    /// applies or (on the first bad one) none. A model name must be in `catalog`.
    public func applying(_ changes: [String: JSONValue], catalog: ModelCatalog) throws(APIError) -> ServerOptions {
        var next = self
        let reader = PayloadReader(object: changes)
        for key in changes.keys.sorted() {
            switch key {
            case Key.model:
                let name = try reader.string(key) ?? ""
                guard let entry = catalog.entry(named: name) else {
                    throw .invalid(key, "no model '\(name)' (see /sdapi/v1/sd-models: "
                                   + catalog.entries.map(\.title).joined(separator: ", ") + ")")
                }
                next.modelCheckpoint = entry.title
            case Key.clipStop:
                next.clipStopAtLastLayers = try reader.int(key, in: 1...64) ?? 1
            case Key.noiseSource:
                let name = try reader.string(key) ?? NoiseSource.gpu.rawValue
                guard let source = NoiseSource(rawValue: name) else {
                    throw .invalid(key, "must be one of \(NoiseSource.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(name)')")
                }
                next.noiseSource = source
            case Key.noiseSeedDelta:
                next.etaNoiseSeedDelta = UInt64(try reader.int(key, in: 0...Int(Int32.max)) ?? 0)
            case Key.previewEvery:
                // A1111 uses -1 for "only at the end"; both mean no decoded preview here.
                next.previewEverySteps = max(0, try reader.int(key, in: -1...1000) ?? 10)
            default:
                next.others[key] = changes[key]
            }
        }
        return next
    }
}
