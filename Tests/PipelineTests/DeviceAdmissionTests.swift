import Foundation
import Pipeline
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// Admission on a GPU: a request whose estimate exceeds the device's memory,
/// or that needs a tensor an op binds whole past the device's binding limit,
/// is refused with one line before any step runs; one that fits runs and its
/// device peak is reported.
final class DeviceAdmissionTests: XCTestCase {
    func request(width: Int, height: Int) -> GenerationRequest {
        var request = GenerationRequest(prompt: "a lighthouse", seed: 3)
        (request.steps, request.width, request.height, request.scheduler) = (2, width, height, .euler)
        return request
    }

    func vulkan(maxBindingBytes: Int? = nil) throws -> VulkanBackend {
        guard TestBackends.vulkan != nil else {
            if TestBackends.isCI { XCTFail("no Vulkan device under CI: \(TestBackends.vulkanUnavailable ?? "")") }
            throw XCTSkip("no Vulkan device")
        }
        var options = VulkanOptions()
        options.maxBindingBytes = maxBindingBytes
        return try VulkanBackend(options: options)
    }

    /// Which precision each device takes: its own by default (f32 on the CPU,
    /// f16 on a GPU with matrix units), f32 exactly where asked, the other
    /// device's precision refused by name; a comparison's columns each keep theirs.
    func testPrecisionPerDevice() throws {
        let gpu = try vulkan()
        XCTAssertThrowsError(try BackendSettings(precision: .f16).makeBackend(for: .cpu)) {
            XCTAssertEqual($0 as? DeviceError, .precisionUnsupported(.f16))
        }
        XCTAssertThrowsError(try BackendSettings(precision: .bf16).makeBackend(for: .gpu)) {
            XCTAssertEqual($0 as? DeviceError, .precisionUnsupported(.bf16))
        }
        XCTAssertEqual(try BackendSettings().makeBackend(for: .cpu).matmulPrecision, .f32)
        let exact = try XCTUnwrap(try BackendSettings(precision: .f32).makeBackend(for: .gpu) as? VulkanBackend)
        XCTAssertFalse(exact.usesCooperativeMatrix)
        XCTAssertEqual(exact.matmulPrecision, .f32)
        // The GPU's own: matrix units wherever a backend with default options finds them usable.
        XCTAssertEqual(try BackendSettings().makeBackend(for: .gpu).matmulPrecision, gpu.usesCooperativeMatrix ? .f16 : .f32)
        if gpu.usesCooperativeMatrix {
            XCTAssertEqual(try BackendSettings(precision: .f16).makeBackend(for: .gpu).matmulPrecision, .f16)
        } else {
            XCTAssertThrowsError(try BackendSettings(precision: .f16).makeBackend(for: .gpu)) {
                XCTAssertEqual($0 as? DeviceError, .noMatrixUnits(gpu.info.name))
                XCTAssertTrue(($0 as? DeviceError)?.description(naming: { _ in "--precision" })
                    .contains("use --precision f32") ?? false, "\($0)")
            }
        }
        XCTAssertNil(BackendSettings(precision: .bf16).applying(to: .gpu).precision)
        XCTAssertEqual(BackendSettings(precision: .bf16).applying(to: .cpu).precision, .bf16)
        XCTAssertNil(BackendSettings(precision: .f16).applying(to: .cpu).precision)
        XCTAssertEqual(BackendSettings(precision: .f16).applying(to: .gpu).precision, .f16)
    }

    func testTooLittleDeviceMemoryIsRefusedBeforeAnyStep() throws {
        let backend = try vulkan()
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend,
                                            admission: MemoryAdmission(deviceLimitBytes: 64 << 20))
        var steps = 0
        XCTAssertThrowsError(try service.generate(request(width: 24, height: 16)) { if case .step = $0 { steps += 1 } }) { error in
            guard case let .exceedsDeviceMemory(needed, available, device, _)? = error as? GenerationError else {
                return XCTFail("\(error)")
            }
            XCTAssertGreaterThan(needed, available)
            XCTAssertEqual(device, backend.name)
            let line = String(describing: error)
            XCTAssertTrue(line.contains("GPU memory") && line.contains("67 MB"), line)   // 64 MiB
        }
        XCTAssertEqual(steps, 0)

        // With the device's own memory it runs, and the pool's peak is what it held.
        let fits = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend)
        XCTAssertEqual(try fits.generate(request(width: 24, height: 16)).count, 1)
        let memory = try XCTUnwrap(backend.deviceMemory)
        XCTAssertGreaterThan(memory.peakBytes, 0)
        XCTAssertGreaterThanOrEqual(memory.peakBytes, memory.allocatedBytes)
        XCTAssertLessThanOrEqual(memory.peakBytes, memory.capacityBytes)
    }

    func testATensorPastTheBindingLimitThatNoOpSplitsIsRefused() throws {
        let backend = try vulkan(maxBindingBytes: 256 << 10)
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend)
        // 256×256: the UNet's first attention binds 2 × 16384 tokens × 16 channels (2 MiB) whole.
        var steps = 0
        XCTAssertThrowsError(try service.generate(request(width: 256, height: 256)) { if case .step = $0 { steps += 1 } }) { error in
            guard case let .exceedsDeviceBinding(tensor, limit, _, size)? = error as? GenerationError else {
                return XCTFail("\(error)")
            }
            XCTAssertGreaterThan(tensor, limit)
            XCTAssertEqual(limit, 256 << 10)
            XCTAssertEqual(size, "256×256")
        }
        XCTAssertEqual(steps, 0)
        // A small one fits every binding and runs.
        XCTAssertEqual(try service.generate(request(width: 24, height: 16)).count, 1)
    }
}
