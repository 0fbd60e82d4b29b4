import ArgumentParser
import Pipeline
import TensorCore

/// `--threads` and `--gpu-index`, the options every command that computes takes.
struct BackendOptions: ParsableArguments {
    @Option(help: "CPU threads (default: every core).")
    var threads: Int?

    @Option(help: "With gpu: the Vulkan device to use (see `sdgen devices`; default: first discrete, else integrated, else CPU implementation).")
    var gpuIndex: Int?

    func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
        if let gpuIndex, gpuIndex < 0 { throw ValidationError("--gpu-index must not be negative") }
    }

    func backend(for device: ComputeDevice) throws -> any Backend {
        try device.makeBackend(threads: threads, gpuIndex: gpuIndex)
    }
}
