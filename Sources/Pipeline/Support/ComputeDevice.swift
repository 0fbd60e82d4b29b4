import TensorCore

/// Where a command runs, as users name it on the command line.
public enum ComputeDevice: String, Sendable, CaseIterable, Codable {
    case cpu, gpu

    /// A backend for this device.
    /// - Parameter threads: CPU worker threads (nil: every core).
    public func makeBackend(threads: Int?) throws -> any Backend {
        switch self {
        case .cpu: return CPUBackend(threads: threads)
        case .gpu: throw DeviceError.gpuUnavailable
        }
    }
}

public enum DeviceError: Error, CustomStringConvertible {
    case gpuUnavailable

    public var description: String {
        switch self {
        case .gpuUnavailable:
            "no GPU backend: the Vulkan backend is not built yet; use --device cpu"
        }
    }
}
