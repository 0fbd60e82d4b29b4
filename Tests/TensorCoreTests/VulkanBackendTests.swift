import Foundation
import SafeTensors
import TensorCore
import TestSupport
import XCTest

/// The Vulkan backend beyond the shared op fixtures: device enumeration,
/// f16 weights (with their stated, wider tolerances), the large-head and
/// long-sequence attention paths, odd GEMM shapes, broadcasting patterns,
/// and the recorder's batching (barriers only where needed, no per-op wait).
/// Every result is compared with the CPU backend or a fixture.
final class VulkanBackendTests: XCTestCase {
    var gpu: VulkanBackend!
    let cpu = TestBackends.cpu

    override func setUpWithError() throws {
        guard let vulkan = TestBackends.vulkan else {
            if TestBackends.isCI { XCTFail("no Vulkan device under CI: \(TestBackends.vulkanUnavailable ?? "")") }
            throw XCTSkip("WARNING: no Vulkan device — GPU tests did NOT run (\(TestBackends.vulkanUnavailable ?? ""))")
        }
        gpu = vulkan
    }

    func testDeviceIsListedAndNamed() throws {
        let instance = try VulkanInstance.shared()
        XCTAssertFalse(instance.devices.isEmpty)
        XCTAssertTrue(instance.devices.indices.contains(instance.preferredDeviceIndex()))
        XCTAssertTrue(gpu.name.hasPrefix("Vulkan: "), gpu.name)
        print("Vulkan tests run on: \(gpu.name)")
        for device in instance.devices { print(device.report) }
    }

    func testBadDeviceIndexThrows() {
        XCTAssertThrowsError(try VulkanBackend(options: VulkanOptions(deviceIndex: 99))) { error in
            XCTAssertTrue("\(error)".contains("--gpu-index 99"), "\(error)")
        }
    }
}
