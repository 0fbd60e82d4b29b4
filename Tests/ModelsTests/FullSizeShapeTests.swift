import Models
import TensorCore
import TestSupport
import XCTest

/// The real SD 1.5 and BERT-base architectures, at full width with random
/// weights, load and run: right output shapes, finite values. (Values are
/// checked against the reference on the tiny models; these prove the real
/// configurations are wired up. Spatial sizes are small to keep CI quick.)
final class FullSizeShapeTests: XCTestCase {
    let backend = TestBackends.cpu

    func assertFinite(_ t: Tensor, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let values = t.toArray()
        XCTAssertTrue(values.allSatisfy(\.isFinite), "\(label): non-finite output", file: file, line: line)
        XCTAssertGreaterThan(values.map(abs).max() ?? 0, 0, "\(label): all zeros", file: file, line: line)
    }

    func testStableDiffusion15UNet() throws {
        let weights = WeightSource(randomWithSeed: 1, backend: backend).root
        let unet = try UNet2DConditionModel(configuration: UNetConfiguration.stableDiffusion15, weights: weights)
        let sample = backend.upload((0..<(2 * 8 * 8 * 4)).map { Float(sin(Double($0))) }, shape: [2, 8, 8, 4])
        let context = backend.upload((0..<(2 * 77 * 768)).map { Float(cos(Double($0))) }, shape: [2, 77, 768])
        let out = unet(sample, timestep: 981, context: context)
        XCTAssertEqual(out.shape, [2, 8, 8, 4])
        assertFinite(out, "UNet")
    }

    func testStableDiffusion15TextEncoder() throws {
        let weights = WeightSource(randomWithSeed: 2, backend: backend).root
        let clip = try CLIPTextModel(configuration: CLIPTextConfiguration.stableDiffusion15, weights: weights)
        let ids: [[Int32]] = [[49406] + Array(repeating: 320, count: 75) + [49407], Array(repeating: 49407, count: 77)]
        let states = try clip(ids)
        XCTAssertEqual(states.shape, [2, 77, 768])
        assertFinite(states, "CLIP")
    }

    func testStableDiffusion15VAE() throws {
        let weights = WeightSource(randomWithSeed: 3, backend: backend).root
        let configuration = VAEConfiguration.stableDiffusion15
        let decoder = try VAEDecoder(configuration: configuration, weights: weights("decoder"),
                                     postQuant: weights("post_quant_conv"))
        let latents = backend.upload((0..<(8 * 8 * 4)).map { Float(sin(Double($0))) }, shape: [1, 8, 8, 4])
        let image = decoder(latents)
        XCTAssertEqual(image.shape, [1, 64, 64, 3])
        assertFinite(image, "VAE decoder")

        let encoder = try VAEEncoder(configuration: configuration, weights: weights("encoder"), quant: weights("quant_conv"))
        let moments = encoder(image)
        XCTAssertEqual(moments.shape, [1, 8, 8, 8])
        assertFinite(moments, "VAE encoder")
    }

    func testBertBase() throws {
        let weights = WeightSource(randomWithSeed: 4, backend: backend).root
        let bert = try BertModel(configuration: BertConfiguration(), weights: weights)
        let output = try bert(ids: [Array(repeating: 100, count: 128)])
        XCTAssertEqual(output.lastHiddenState.shape, [1, 128, 768])
        assertFinite(output.lastHiddenState, "BERT")
    }
}
