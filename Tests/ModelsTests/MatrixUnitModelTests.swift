import Foundation
import Models
import TensorCore
import TestSupport
import XCTest

/// The networks on a GPU's matrix units (`--precision f16`, the default where
/// a GPU has them) against the CPU in f32, with the same random weights: the
/// stated bound of that precision. Runs where the device has
/// VK_KHR_cooperative_matrix (a GPU, or Mesa 26's lavapipe through
/// scripts/vulkan/lavapipe-coopmat.sh); skips elsewhere.
///
/// Bound: 2e-2 absolute + 2e-2 relative, as for f16 weights alone
/// (VulkanBackendTests): weights are rounded to f16 either way, and the
/// activations' rounding to f16 as they enter each product adds 2⁻¹¹ per
/// operand, well inside it (Mesa 26's lavapipe: largest differences 2.0–3.1e-3).
final class MatrixUnitModelTests: XCTestCase {
    let cpu = TestBackends.cpu
    var gpu: VulkanBackend!

    override func setUpWithError() throws {
        guard TestBackends.vulkanDeviceCount > 0 else { throw XCTSkip("no Vulkan device") }
        var options = VulkanOptions(weightDType: .f16, cooperativeMatrix: true)
        (options.cooperativeMatrixAnyShape, options.legacyMatrixKernel) = (true, false)
        let backend = try VulkanBackend(options: options)
        guard backend.usesCooperativeMatrix && backend.usesCooperativeAttention else {
            throw XCTSkip("\(backend.info.name) has no usable matrix units: the f16 path did NOT run here")
        }
        gpu = backend
    }

    func compare(_ label: String, _ gpuResult: Tensor, _ cpuResult: Tensor,
                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(gpuResult.shape, cpuResult.shape, label, file: file, line: line)
        let c = assertClose(gpuResult.toArray(), cpuResult.toArray(), atol: 2e-2, rtol: 2e-2, label, file: file, line: line)
        print("\(label): matrix units vs CPU f32 \(c)")
    }

    func testUNet() throws {
        func run(_ backend: any Backend, _ dtype: DType) throws -> Tensor {
            let weights = WeightSource(randomWithSeed: 11, backend: backend, dtype: dtype).root
            let unet = try UNet2DConditionModel(configuration: VulkanBackendTests.smallUNet, weights: weights)
            let values = { (count: Int, seed: Double) in (0..<count).map { Float(sin(Double($0) * 0.37 + seed)) } }
            let sample = backend.upload(values(2 * 16 * 16 * 4, 1), shape: [2, 16, 16, 4])
            let context = backend.upload(values(2 * 7 * 32, 2), shape: [2, 7, 32])
            return unet(sample, timestep: 501, context: context)
        }
        compare("UNet (heads of 16 and 32)", try run(gpu, .f16), try run(cpu, .f32))
    }

    func testTextEncoders() throws {
        var c = CLIPTextConfiguration.stableDiffusion15
        (c.vocabSize, c.hiddenSize, c.intermediateSize, c.numAttentionHeads, c.numHiddenLayers) = (100, 128, 256, 2, 2)
        let ids: [[Int32]] = [[0, 5, 17, 99] + Array(repeating: 1, count: 73), Array(repeating: 3, count: 77)]
        func clip(_ backend: any Backend, _ dtype: DType) throws -> Tensor {
            try CLIPTextModel(configuration: c, weights: WeightSource(randomWithSeed: 12, backend: backend, dtype: dtype).root)(
                ids, skip: 1)
        }
        compare("CLIP (causal, 2 heads of 64)", try clip(gpu, .f16), try clip(cpu, .f32))

        var b = BertConfiguration()
        (b.vocabSize, b.hiddenSize, b.intermediateSize, b.numAttentionHeads, b.numHiddenLayers) = (100, 128, 256, 2, 2)
        let tokens: [[Int32]] = [[2, 7, 9, 4, 0, 0], [3, 3, 8, 1, 5, 6]]
        let mask: [[Int32]] = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]]
        func bert(_ backend: any Backend, _ dtype: DType) throws -> Tensor {
            try BertModel(configuration: b, weights: WeightSource(randomWithSeed: 13, backend: backend, dtype: dtype).root)(
                ids: tokens, attentionMask: mask).lastHiddenState
        }
        compare("BERT (padding mask, 2 heads of 64)", try bert(gpu, .f16), try bert(cpu, .f32))
    }
}
