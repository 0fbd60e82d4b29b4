import ArgumentParser
import TensorCore

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the Vulkan devices sdgen can use.",
        discussion: """
            `--device gpu` takes the first discrete GPU, else the first integrated one, else a CPU \
            implementation (lavapipe); `--gpu-index N` picks device N of this list.
            """)

    func run() throws {
        let instance = try VulkanInstance.shared()
        let chosen = instance.preferredDeviceIndex()
        print("Vulkan devices (\(instance.devices.count)); --device gpu uses [\(chosen)]:")
        for device in instance.devices {
            print(device.report)
        }
    }
}
