import ArgumentParser
import Foundation
import Pipeline
import TensorCore

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "Show the CPU's kernel sets and peak, and list the Vulkan devices sdgen can use.",
        discussion: """
            `--device cpu` runs the widest kernel set the CPU has; SDGEN_CPU=generic|avx2|avx512|avx512-bf16 \
            narrows it. `--device gpu` takes the first discrete GPU, else the first integrated one, else a CPU \
            implementation (lavapipe); `--gpu-index N` picks device N of this list.
            """)

    func run() throws {
        let kernels: CPUKernelSet
        do { kernels = try CPUKernelSet.fromEnvironment() } catch { throw CommandFailure(error.description) }
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let core = CPUPeak.oneCore(kernels)
        print("CPU: \(CPUKernelSet.processorName), \(threads) thread\(threads == 1 ? "" : "s")")
        print("  kernel set \(kernels) (this CPU runs: \(CPUKernelSet.available.map(\.rawValue).joined(separator: ", ")))"
              + "; f32 products: \(kernels.productKernels)")
        print("  OpenBLAS core: \(CPUKernelSet.openBLASCore)"
              + (kernels == .generic ? "" : " (used only by the generic set)"))
        print("  peak per core: \(core.summary)"
              + (core.bf16 == nil ? "" : core.bf16Pays ? "; bf16 pays here" : "; bf16 brings no speed here"))

        let instance: VulkanInstance
        do { instance = try VulkanInstance.shared() } catch {
            print("Vulkan: none (\(error)); --device gpu is unavailable")
            return
        }
        let chosen = instance.preferredDeviceIndex()
        print("Vulkan devices (\(instance.devices.count)); --device gpu uses [\(chosen)]:")
        for device in instance.devices {
            print(device.report)
        }
    }
}
