import Foundation
import Models
import TensorCore
import TestSupport
import XCTest

/// The four networks on the Vulkan backend against the CPU backend, with the
/// same random weights: small configurations with the real block structure
/// (CPU parity with the reference is ModelReferenceTests' job; this holds the
/// GPU to the CPU). Also: the pooling allocator does not grow after the
/// first UNet step.
///
/// Tolerances: f32 weights 2e-4 absolute + 2e-4 relative (dozens of chained
/// f32 GEMMs and norms, summed in another order than OpenBLAS);
/// f16 weights (the default on devices with 16-bit storage) 2e-2 + 2e-2
/// relative, since each weight is rounded to 11 significant bits.
final class VulkanBackendTests: XCTestCase {
    let cpu = TestBackends.cpu
    var gpu: VulkanBackend!

    override func setUpWithError() throws {
        guard let vulkan = TestBackends.vulkan else {
            if TestBackends.isCI { XCTFail("no Vulkan device under CI: \(TestBackends.vulkanUnavailable ?? "")") }
            throw XCTSkip("WARNING: no Vulkan device — GPU tests did NOT run (\(TestBackends.vulkanUnavailable ?? ""))")
        }
        gpu = vulkan
    }

    static var smallUNet: UNetConfiguration {
        var c = UNetConfiguration.stableDiffusion15
        c.blockOutChannels = [32, 64]
        c.downBlockTypes = ["CrossAttnDownBlock2D", "DownBlock2D"]
        c.upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D"]
        c.layersPerBlock = 1
        c.crossAttentionDim = 32
        c.attentionHeadDim = .one(2)
        c.normNumGroups = 8
        return c
    }

    func values(_ count: Int, _ seed: Double) -> [Float] {
        (0..<count).map { Float(sin(Double($0) * 0.37 + seed)) }
    }

    func compare(_ gpuResult: Tensor, _ cpuResult: Tensor, atol: Float, rtol: Float, _ label: String,
                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(gpuResult.shape, cpuResult.shape, label, file: file, line: line)
        let c = assertClose(gpuResult.toArray(), cpuResult.toArray(), atol: atol, rtol: rtol, label, file: file, line: line)
        print("\(label): GPU vs CPU \(c)")
    }

    func unetOutput(on backend: any Backend, weightDType: DType? = nil, latent: Int = 16) throws -> Tensor {
        let weights = WeightSource(randomWithSeed: 11, backend: backend, dtype: weightDType ?? .f32).root
        let unet = try UNet2DConditionModel(configuration: Self.smallUNet, weights: weights)
        let sample = backend.upload(values(2 * latent * latent * 4, 1), shape: [2, latent, latent, 4])
        let context = backend.upload(values(2 * 7 * 32, 2), shape: [2, 7, 32])
        return unet(sample, timestep: 501, context: context)
    }

    func testUNetMatchesCPU() throws {
        compare(try unetOutput(on: gpu), try unetOutput(on: cpu), atol: 2e-4, rtol: 2e-4, "UNet f32 weights")
    }

    func testUNetWithHalfWeightsMatchesCPU() throws {
        guard let half = TestBackends.vulkanDefault, half.preferredWeightDType == .f16 else {
            throw XCTSkip("the device has no 16-bit storage")
        }
        compare(try unetOutput(on: half, weightDType: .f16), try unetOutput(on: cpu), atol: 2e-2, rtol: 2e-2,
                "UNet f16 weights")
    }

    func testTextEncoderMatchesCPU() throws {
        var c = CLIPTextConfiguration.stableDiffusion15
        (c.vocabSize, c.hiddenSize, c.intermediateSize, c.numAttentionHeads, c.numHiddenLayers) = (100, 64, 128, 2, 2)
        let ids: [[Int32]] = [[0, 5, 17, 99] + Array(repeating: 1, count: 73), Array(repeating: 3, count: 77)]
        func run(_ backend: any Backend) throws -> Tensor {
            try CLIPTextModel(configuration: c, weights: WeightSource(randomWithSeed: 12, backend: backend).root)(ids, skip: 1)
        }
        compare(try run(gpu), try run(cpu), atol: 2e-4, rtol: 2e-4, "CLIP (causal, 2 heads of 32)")
    }

    func testBertMatchesCPU() throws {
        var c = BertConfiguration()
        (c.vocabSize, c.hiddenSize, c.intermediateSize, c.numAttentionHeads, c.numHiddenLayers) = (100, 64, 128, 2, 2)
        let ids: [[Int32]] = [[2, 7, 9, 4, 0, 0], [3, 3, 8, 1, 5, 6]]
        let mask: [[Int32]] = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]]
        func run(_ backend: any Backend) throws -> BertModel.Output {
            try BertModel(configuration: c, weights: WeightSource(randomWithSeed: 13, backend: backend).root)(
                ids: ids, attentionMask: mask)
        }
        let (g, h) = (try run(gpu), try run(cpu))
        compare(g.lastHiddenState, h.lastHiddenState, atol: 2e-4, rtol: 2e-4, "BERT hidden states (padding mask)")
        if let gp = g.pooled, let hp = h.pooled { compare(gp, hp, atol: 2e-4, rtol: 2e-4, "BERT pooler") }
    }

    /// A small VAE's decode of `latent` and the encode of that image, with random weights from `seed`.
    func decodeAndEncode(_ c: VAEConfiguration, latent: [Float], shape: [Int], seed: UInt64,
                         on backend: any Backend) throws -> (image: Tensor, latent: Tensor) {
        let w = WeightSource(randomWithSeed: seed, backend: backend).root
        let decoder = try VAEDecoder(configuration: c, weights: w("decoder"), postQuant: w("post_quant_conv"))
        let image = decoder(backend.upload(latent, shape: shape))
        let encoder = try VAEEncoder(configuration: c, weights: w("encoder"), quant: w("quant_conv"))
        return (image, encoder(image))
    }

    func testVAEMatchesCPU() throws {
        // 192 channels in the mid block: one 192-wide attention head, which
        // takes the blocked (GEMM + softmax) attention path.
        var c = VAEConfiguration.stableDiffusion15
        c.blockOutChannels = [32, 192]
        c.layersPerBlock = 1
        let latent = values(8 * 8 * 4, 3)
        func run(_ backend: any Backend) throws -> (Tensor, Tensor) {
            try decodeAndEncode(c, latent: latent, shape: [1, 8, 8, 4], seed: 14, on: backend)
        }
        let (g, h) = (try run(gpu), try run(cpu))
        compare(g.0, h.0, atol: 2e-4, rtol: 2e-4, "VAE decoder")
        compare(g.1, h.1, atol: 2e-4, rtol: 2e-4, "VAE encoder")
    }

    /// The VAE at a size whose activations exceed the binding limit (forced
    /// to 256 KiB here, above its largest weight; lavapipe's 128 MiB at
    /// 512×512 for SD's VAE): every convolution, norm and upsampling runs in
    /// windows and still equals the CPU.
    func testVAEPastTheBindingLimitMatchesCPU() throws {
        var options = VulkanOptions(weightDType: .f32)
        options.maxBindingBytes = 256 << 10
        let windowed = try VulkanBackend(options: options)
        var c = VAEConfiguration.stableDiffusion15
        c.blockOutChannels = [32, 32, 64]
        c.layersPerBlock = 1
        let latent = values(16 * 12 * 4, 6)
        func run(_ backend: any Backend) throws -> (Tensor, Tensor) {
            try decodeAndEncode(c, latent: latent, shape: [1, 16, 12, 4], seed: 16, on: backend)
        }
        let (g, h) = (try run(windowed), try run(cpu))
        // Windows show as extra dispatches against the same run unsplit.
        let split = windowed.commandStatistics.dispatches
        let before = gpu.commandStatistics.dispatches
        _ = try run(gpu).1.toArray()
        XCTAssertGreaterThan(split, gpu.commandStatistics.dispatches - before, "nothing was split into windows")
        compare(g.0, h.0, atol: 2e-4, rtol: 2e-4, "VAE decoder in windows")
        compare(g.1, h.1, atol: 2e-4, rtol: 2e-4, "VAE encoder in windows")
    }

    /// SD 1.5's VAE decoder at 512×512 on the device's own binding limit
    /// (lavapipe: 128 MiB, which the 256 MiB activations of its last blocks
    /// exceed) equals the CPU within one level of 255 on ≥ 99% of values.
    /// About 20 minutes on lavapipe with two cores, so it runs only with
    /// SDGEN_LARGE_GPU_TESTS=1 (CI covers the windows at a forced small limit).
    func testSD15VAEDecodeAt512MatchesCPU() throws {
        guard ProcessInfo.processInfo.environment["SDGEN_LARGE_GPU_TESTS"] == "1" else {
            throw XCTSkip("set SDGEN_LARGE_GPU_TESTS=1 to decode 512×512 with SD 1.5's VAE on the GPU")
        }
        let latent = values(64 * 64 * 4, 7).map { $0 * 2.5 }
        func decode(_ backend: any Backend) throws -> [Float] {
            let w = WeightSource(randomWithSeed: 17, backend: backend).root
            let decoder = try VAEDecoder(configuration: .stableDiffusion15, weights: w("decoder"), postQuant: w("post_quant_conv"))
            return decoder(backend.upload(latent, shape: [1, 64, 64, 4])).toArray()
        }
        let (g, h) = (try decode(gpu), try decode(cpu))
        XCTAssertEqual(g.count, 512 * 512 * 3)
        // Levels compare only inside [-1, 1]: a saturated image would agree trivially (these random weights give
        // 99.9% of values inside, mean |x| 0.25, on the CPU).
        XCTAssertGreaterThan(Float(h.filter { abs($0) < 1 }.count) / Float(h.count), 0.9, "the CPU image is saturated")
        func level(_ x: Float) -> Float { (min(max(x, -1), 1) + 1) * 127.5 }
        let differences = zip(g, h).map { abs(level($0) - level($1)) }
        let within = Float(differences.filter { $0 <= 1 }.count) / Float(differences.count)
        print("SD 1.5 VAE decode 512×512, GPU vs CPU: \(within * 100)% within one level, largest \(differences.max() ?? 0) levels")
        XCTAssertGreaterThanOrEqual(within, 0.99)
    }

    /// Steady state allocates nothing: the pool's device memory after the
    /// second and third UNet steps equals that after the first.
    func testPoolDoesNotGrowAfterFirstUNetStep() throws {
        let backend = try VulkanBackend(options: VulkanOptions(weightDType: .f32))
        let weights = WeightSource(randomWithSeed: 15, backend: backend).root
        let unet = try UNet2DConditionModel(configuration: Self.smallUNet, weights: weights)
        var latents = backend.upload(values(2 * 16 * 16 * 4, 4), shape: [2, 16, 16, 4])
        let context = backend.upload(values(2 * 7 * 32, 5), shape: [2, 7, 32])
        var allocated: [Int] = []
        var allocations: [Int] = []
        for (step, t) in [901, 801, 701].enumerated() {
            let noise = unet(latents, timestep: Float(t), context: context)
            latents = latents - noise * 0.1      // a scheduler-like update, on the GPU
            backend.synchronize()
            let stats = backend.memoryStatistics
            allocated.append(stats.allocatedBytes)
            allocations.append(stats.allocations)
            print("UNet step \(step + 1): pool \(stats.allocatedBytes) bytes in \(stats.allocations) buffers, " +
                  "\(stats.reuses) reuses; \(backend.commandStatistics)")
        }
        XCTAssertEqual(allocated[1], allocated[0], "the pool grew in step 2")
        XCTAssertEqual(allocated[2], allocated[0], "the pool grew in step 3")
        XCTAssertEqual(allocations[2], allocations[0], "buffers were created after step 1")
        XCTAssertTrue(latents.toArray().allSatisfy(\.isFinite))
    }
}
