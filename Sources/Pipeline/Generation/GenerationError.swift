import Foundation

/// Why a generation did not run or did not finish, in words that name the
/// request's parameter (the CLI and the server name their own flag or field).
public enum GenerationError: Error, CustomStringConvertible, Equatable {
    /// `requirement` completes "<parameter> …", e.g. "must be at least 1 (got 0)".
    case invalid(GenerationParameter, requirement: String)
    /// The estimated peak memory exceeds what the machine can give.
    case exceedsMemory(needed: Int, available: Int, detail: String)
    /// The estimated peak exceeds the GPU's memory.
    case exceedsDeviceMemory(needed: Int, available: Int, device: String, detail: String)
    /// An op would bind a tensor whole that is larger than the GPU's binding limit.
    case exceedsDeviceBinding(tensor: Int, limit: Int, device: String, size: String)
    /// The prompt cannot be read (an unclosed `<lora:` tag, a weight that is no number).
    case badPrompt(String)
    /// A stage's output holds NaN or infinity (A1111's NaN check): an image
    /// of it would be black or noise, handed back as if it were one.
    case nonFinite(stage: String)
    case cancelled

    public var description: String { description(naming: { $0.defaultName }) }

    /// The message with each parameter called by `name` (a CLI flag, a JSON field).
    public func description(naming name: (GenerationParameter) -> String) -> String {
        switch self {
        case let .invalid(parameter, requirement):
            "\(name(parameter)) \(requirement)"
        case let .exceedsMemory(needed, available, detail):
            "this request needs about \(MemoryFormat.gigabytes(needed)) (\(detail)), more than the "
                + "\(MemoryFormat.gigabytes(available)) of memory available; ask for a smaller size"
        case let .exceedsDeviceMemory(needed, available, device, detail):
            "this request needs about \(MemoryFormat.gigabytes(needed)) of GPU memory (\(detail)), more than the "
                + "\(MemoryFormat.gigabytes(available)) of \(device); ask for a smaller size, or run on the CPU"
        case let .exceedsDeviceBinding(tensor, limit, device, size):
            "at \(size) this request needs a \(MemoryFormat.mebibytes(tensor)) tensor that \(device) must bind whole, "
                + "above its \(MemoryFormat.mebibytes(limit)) storage-buffer range; ask for a smaller size, or run on the CPU"
        case .badPrompt(let message):
            message
        case .nonFinite(let stage):
            "\(stage) produced NaN or infinite values, so there is no image; a LoRA or emphasis weight far "
                + "outside ±2 does this, as does a model that overflows in 16-bit floats"
        case .cancelled:
            "cancelled"
        }
    }
}

extension GenerationParameter {
    /// Plain names for messages outside any interface.
    public var defaultName: String {
        switch self {
        case .size: "width and height"
        case .clipSkip: "clip skip"
        case .initImage: "the init image"
        case .maskBlur: "mask blur"
        case .inpaintArea: "inpaint area"
        case .guidanceRescale: "guidance rescale"
        case .timestepSpacing: "timestep spacing"
        case .eta: "eta"
        case .sizeConditioning: "the size conditioning"
        case .decoder: "the decoder"
        case .previewEvery: "the preview interval"
        case .scheduler: "the sampler"
        default: rawValue
        }
    }
}

enum MemoryFormat {
    static func gigabytes(_ bytes: Int) -> String {
        bytes >= 100_000_000 ? String(format: "%.1f GB", Double(bytes) / 1e9) : String(format: "%.0f MB", Double(bytes) / 1e6)
    }

    /// Binary units, as devices state their limits (lavapipe: 128 MiB).
    static func mebibytes(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }
}
