import Foundation
import TensorCore
import XCTest

/// Every backend the op and model tests run on: the CPU as users get it, the
/// CPU with every eligible 3×3 convolution through Winograd (the small
/// fixtures have too few tiles for the automatic choice to take it), and the
/// Vulkan backend whenever one can be created (lavapipe in CI). Tests loop
/// over all.
///
/// Without a Vulkan device the GPU half of every test silently cannot run,
/// so that is said loudly, and under CI (the CI environment variable set) it
/// fails every test that asks for the backends.
public enum TestBackends {
    public static let cpu = CPUBackend(threads: 2)
    public static let cpuWinograd = CPUBackend(threads: 2, convolution: .winograd)

    /// The CPU with bf16 matrix products (`--precision bf16`): the AVX-512
    /// BF16 kernel where this CPU has one, and always the emulation that
    /// stands in for it elsewhere (on the AVX2 set's f32 product). Held to
    /// bf16 references, not the f32 ones.
    public static let cpuBFloat16: [CPUBackend] = {
        let emulated = CPUBackend(threads: 2, precision: .bf16, kernels: min(CPUKernelSet.detected, .avx2))
        return CPUKernelSet.detected == .avx512BF16 ? [CPUBackend(threads: 2, precision: .bf16), emulated] : [emulated]
    }()

    /// The CPU under every kernel set this machine can run other than the one
    /// `cpu` takes (SDGEN_CPU narrows to them), each with direct and with
    /// Winograd convolutions, so the op fixtures hold every path: OpenBLAS,
    /// the AVX2 GEMM, the AVX-512 GEMM with fused attention.
    public static let cpuOtherKernelSets: [CPUBackend] = CPUKernelSet.available
        .filter { $0 != cpu.kernels && $0 != .avx512BF16 }  // avx512-bf16 differs from avx512 in bf16 only
        .flatMap { [CPUBackend(threads: 2, kernels: $0), CPUBackend(threads: 2, convolution: .winograd, kernels: $0)] }

    /// What the op fixtures run on: `all` and the other kernel sets.
    public static var ops: [any Backend] { all + cpuOtherKernelSets }

    /// The Vulkan backend with f32 weights, so GPU results are held to the
    /// same tolerances as the CPU's (f16 weights are tested separately, with
    /// wider bounds, in VulkanBackendTests).
    public static let vulkan: VulkanBackend? = makeVulkan(weightDType: .f32)

    /// The Vulkan backend as users get it (f16 weights where the device has
    /// 16-bit storage).
    public static let vulkanDefault: VulkanBackend? = makeVulkan(weightDType: nil)

    /// How many Vulkan devices there are, found without creating a backend: a backend's start-up
    /// self-tests compile its matrix-unit kernels, which on lavapipe takes minutes per set of
    /// weight types (the matrix-unit tests, f16 weights only, made `vulkan`'s f32 set for nothing).
    public static var vulkanDeviceCount: Int { (try? VulkanInstance.shared().devices.count) ?? 0 }

    /// Why there is no Vulkan backend, if there is none.
    public nonisolated(unsafe) private(set) static var vulkanUnavailable: String?

    private static func makeVulkan(weightDType: DType?) -> VulkanBackend? {
        do {
            return try VulkanBackend(options: VulkanOptions(weightDType: weightDType))
        } catch {
            vulkanUnavailable = "\(error)"
            let line = "WARNING: no Vulkan device — GPU tests did NOT run (\(error))"
            FileHandle.standardError.write(Data((line + "\n").utf8))
            print(line)
            return nil
        }
    }

    /// A pipeline test's cases for `backend`: every one on the CPU backends, only `gpu`'s on the GPU.
    /// Cases that differ only in what the host computes — a scheduler's arithmetic, the strength,
    /// how a prompt is parsed — dispatch the same kernels in the same shapes, so the GPU runs one
    /// case of each model, image shape, batch and conditioning path. On lavapipe the GPU was 95% of
    /// these tests' time; the four largest classes went 152 → 70 s (warm shader cache).
    public static func cases(_ all: [String], on backend: any Backend, gpu: Set<String>,
                             file: StaticString = #filePath, line: UInt = #line) -> [String] {
        XCTAssert(gpu.isSubset(of: all), "GPU cases \(gpu.subtracting(all).sorted()) are not cases", file: file, line: line)
        return backend is VulkanBackend ? all.filter(gpu.contains) : all
    }

    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "0" } ?? false }

    public static var all: [any Backend] {
        guard let vulkan else {
            if isCI {
                XCTFail("no Vulkan device under CI: install mesa-vulkan-drivers (lavapipe); \(vulkanUnavailable ?? "")")
            }
            return [cpu, cpuWinograd]
        }
        return [cpu, cpuWinograd, vulkan]
    }
}
