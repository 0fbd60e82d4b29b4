import TensorCore

/// Where a command runs, as users name it on the command line.
public enum ComputeDevice: String, Sendable, CaseIterable, Codable {
    case cpu, gpu

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

/// How to set up a backend: the choices every computing command offers,
/// decided here once for both devices.
public struct BackendSettings: Sendable, Equatable {
    /// CPU worker threads (nil: every core).
    public var threads: Int?
    /// The Vulkan device (`sdgen devices` lists them); nil takes the first
    /// discrete GPU, else integrated, else lavapipe.
    public var gpuIndex: Int?
    /// How the CPU computes 3×3 convolutions.
    public var convolution: CPUBackend.ConvolutionAlgorithm = .automatic
    /// Matrix-product precision: bf16 is the CPU's, f16 the GPU's matrix
    /// units'; nil takes the device's own — f32 on the CPU, f16 on a GPU with
    /// matrix units (f32 on one without).
    public var precision: MatmulPrecision?

    public init(threads: Int? = nil, gpuIndex: Int? = nil, convolution: CPUBackend.ConvolutionAlgorithm = .automatic,
                precision: MatmulPrecision? = nil) {
        self.threads = threads
        self.gpuIndex = gpuIndex
        self.convolution = convolution
        self.precision = precision
    }

    /// A backend for `device`; a CPU-only choice on the GPU is an error.
    public func makeBackend(for device: ComputeDevice) throws -> any Backend {
        switch device {
        case .cpu:
            let kernels: CPUKernelSet
            do { kernels = try CPUKernelSet.fromEnvironment() } catch { throw DeviceError.kernelSet(error.description) }
            if precision == .f16 { throw DeviceError.precisionUnsupported(.f16) }
            return CPUBackend(threads: threads, convolution: convolution, precision: precision ?? .f32, kernels: kernels)
        case .gpu:
            if precision == .bf16 { throw DeviceError.precisionUnsupported(.bf16) }
            let backend: VulkanBackend
            do {
                // f32 asked for: the portable kernels, exact; f16: the matrix units; nil: them where there are.
                backend = try VulkanBackend(options: VulkanOptions(deviceIndex: gpuIndex,
                                                                   cooperativeMatrix: precision.map { $0 == .f16 }))
            } catch let error as VulkanError {
                throw DeviceError.gpuUnavailable(error.description)
            }
            if precision == .f16 && !backend.usesCooperativeMatrix { throw DeviceError.noMatrixUnits(backend.info.name) }
            return backend
        }
    }

    /// What a user should know about a backend before it computes: bf16
    /// products where they bring no speed (emulated, or a core whose
    /// VDPBF16PS rate does not beat its f32 FMA rate).
    public static func advisories(for backend: any Backend) -> [String] {
        guard let cpu = backend as? CPUBackend, cpu.precision == .bf16 else { return [] }
        guard cpu.hasNativeBFloat16 else {
            return ["bf16 products are emulated under CPU kernel set \(cpu.kernels) (no AVX-512 BF16): "
                    + "bf16 results, slower than f32"]
        }
        let core = CPUPeak.oneCore(cpu.kernels)
        guard !core.bf16Pays, let bf16 = core.bf16 else { return [] }
        return ["bf16 brings no speed on this CPU: VDPBF16PS peaks at \(CPUPeak.format(bf16)) per core, "
                + "f32 FMA at \(CPUPeak.format(core.f32)); f32 is as fast and exact"]
    }

    /// The settings as they apply to one column of a CPU-vs-GPU comparison:
    /// CPU-only choices shape the CPU's and leave the GPU's at its own.
    public func applying(to device: ComputeDevice) -> BackendSettings {
        var settings = self
        if device == .gpu && settings.precision == .bf16 { settings.precision = nil }
        if device == .cpu && settings.precision == .f16 { settings.precision = nil }
        return settings
    }
}

public enum DeviceError: Error, CustomStringConvertible, Equatable {
    case gpuUnavailable(String)
    case precisionUnsupported(MatmulPrecision)
    /// f16 asked of a GPU without usable matrix units.
    case noMatrixUnits(String)
    /// SDGEN_CPU names no kernel set, or one this CPU cannot run.
    case kernelSet(String)

    public var description: String { description(naming: { _ in nil }) }

    /// The setting a message names, for interfaces that spell them as options.
    public enum Setting: Sendable { case device, precision }

    /// The message with each setting spelled by `name` (a CLI flag), or in plain words where it gives nil.
    public func description(naming name: (Setting) -> String?) -> String {
        switch self {
        case let .gpuUnavailable(reason):
            "no GPU backend: \(reason); " + (name(.device).map { "or use \($0) cpu" } ?? "use the CPU instead")
        case let .precisionUnsupported(precision):
            (name(.precision).map { "\($0) \(precision.rawValue)" } ?? "\(precision.rawValue) matrix-product precision")
                + (precision == .f16 ? " is a GPU option (its matrix units); the CPU computes in f32 or bf16"
                                     : " is a CPU option; the GPU computes in f16 on its matrix units or in f32")
        case let .noMatrixUnits(device):
            (name(.precision).map { "\($0) f16" } ?? "f16 matrix-product precision")
                + " needs a GPU with matrix units (VK_KHR_cooperative_matrix, 16×16×16 f16); \(device) has none"
                + (name(.precision).map { ": use \($0) f32" } ?? "")
        case let .kernelSet(reason):
            reason
        }
    }
}
