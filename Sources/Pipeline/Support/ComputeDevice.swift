import TensorCore

/// Where a command runs, as users name it on the command line.
public enum ComputeDevice: String, Sendable, CaseIterable, Codable {
    case cpu, gpu

    /// A backend for this device.
    /// - Parameter threads: CPU worker threads (nil: every core).
    /// - Parameter gpuIndex: the Vulkan device (`sdgen devices` lists them);
    ///   nil takes the first discrete GPU, else integrated, else lavapipe.
    /// - Parameter convolution: how the CPU computes 3×3 convolutions.
    /// - Parameter precision: the CPU's matrix-product precision (the GPU computes in f32).
    public func makeBackend(threads: Int?, gpuIndex: Int? = nil,
                            convolution: CPUBackend.ConvolutionAlgorithm = .automatic,
                            precision: CPUBackend.MatmulPrecision = .f32) throws -> any Backend {
        switch self {
        case .cpu:
            return CPUBackend(threads: threads, convolution: convolution, precision: precision)
        case .gpu:
            if precision != .f32 { throw DeviceError.precisionUnsupported(precision.rawValue) }
            do {
                return try VulkanBackend(options: VulkanOptions(deviceIndex: gpuIndex))
            } catch let error as VulkanError {
                throw DeviceError.gpuUnavailable(error.description)
            }
        }
    }

    /// Whether `--device gpu` can work here (a Vulkan loader and a device exist).
    public static var gpuAvailable: Bool { (try? VulkanInstance.shared()) != nil }

    /// Whether a hardware GPU (discrete, integrated or virtual) exists: the
    /// benchmarks include the GPU by default only then, since a CPU
    /// implementation such as lavapipe is far slower than the CPU backend.
    public static var hardwareGPUAvailable: Bool {
        guard let instance = try? VulkanInstance.shared() else { return false }
        return instance.devices.contains { $0.kind != .cpu }
    }
}

public enum DeviceError: Error, CustomStringConvertible {
    case gpuUnavailable(String)
    case precisionUnsupported(String)

    public var description: String {
        switch self {
        case let .gpuUnavailable(reason):
            "no GPU backend: \(reason); or use --device cpu"
        case let .precisionUnsupported(precision):
            "--precision \(precision) is a CPU option; the GPU backend computes in f32"
        }
    }
}
