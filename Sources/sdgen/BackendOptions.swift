import Foundation
import ArgumentParser
import Pipeline
import TensorCore

extension CPUBackend.ConvolutionAlgorithm: ExpressibleByArgument {}
extension MatmulPrecision: ExpressibleByArgument {}
extension BenchmarkModel: ExpressibleByArgument {}

/// `--threads`, `--convolution`, `--precision` and `--gpu-index`, the options every command that computes takes.
struct BackendOptions: ParsableArguments {
    @Option(help: "CPU threads (default: every core).")
    var threads: Int?

    @Option(help: ArgumentHelp(
        "With cpu: 3×3 convolutions by Winograd F(4×4,3×3) where it pays (automatic), always (winograd), or as im2col GEMMs (direct).",
        discussion: "Winograd needs 2.25 multiply-adds per output instead of 9; its f32 rounding error is about 5× direct's on average (see docs/performance.md)."))
    var convolution: CPUBackend.ConvolutionAlgorithm = .automatic

    @Option(help: ArgumentHelp(
        "Matrix products in f32; with cpu, operands rounded to bfloat16 (bf16, opt-in); with gpu, to f16 on its matrix units (f16). Default: f32 on the CPU, f16 on a GPU with matrix units.",
        discussion: "bf16 runs twice the multiply-adds per cycle on CPUs with AVX-512 BF16 (emulated, no faster, elsewhere); outputs move by about 1e-2 relative instead of 1e-6. f16 is what a GPU's matrix units (VK_KHR_cooperative_matrix) multiply, with f32 sums; --precision f32 keeps a GPU on its exact f32 kernels (see docs/performance.md, docs/vulkan.md)."))
    var precision: MatmulPrecision?

    @Option(help: "With gpu: the Vulkan device to use (see `sdgen devices`; default: first discrete, else integrated, else CPU implementation).")
    var gpuIndex: Int?

    func validate() throws {
        // More workers than a few per core only splits the work thinner (a typo of 10⁹ was taken as asked).
        let most = 4 * ProcessInfo.processInfo.activeProcessorCount
        if let threads, !(1...most).contains(threads) {
            throw ValidationError("--threads must be between 1 and \(most) (4 per core here; got \(threads))")
        }
        if let gpuIndex, gpuIndex < 0 { throw ValidationError("--gpu-index must not be negative") }
    }

    var settings: BackendSettings {
        BackendSettings(threads: threads, gpuIndex: gpuIndex, convolution: convolution, precision: precision)
    }
}
