import Models
import TensorCore
import XCTest

/// The FLOP counter against the published work of each benchmark
/// (multiply-add = 2): SD 1.5 UNet step at 512×512 with guidance 1607 GFLOP
/// (convolutions 888, linear 466, attention 252), VAE decode at 512×512
/// 2515 GFLOP, BERT-base 22 / 89 / 97 / 387 GFLOP at (1,128) / (4,128) /
/// (1,512) / (4,512). The SD figures are given to 1%; BERT's are whole
/// GFLOP, so ±0.5.
final class FLOPCountTests: XCTestCase {
    func count(_ body: (FLOPCounter, Weights) throws -> Void) rethrows -> FLOPCounter.Tally {
        let counter = FLOPCounter()
        try body(counter, WeightSource(randomWithSeed: 0, backend: counter).root)
        return counter.tally
    }

    func assertGFLOP(_ value: Double, _ expected: Double, accuracy: Double? = nil, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(value / 1e9, expected, accuracy: accuracy ?? expected * 0.01, label, file: file, line: line)
    }

    func testUNetStepAt512WithGuidance() throws {
        let tally = try count { backend, weights in
            let unet = try UNet2DConditionModel(configuration: UNetConfiguration.stableDiffusion15, weights: weights)
            _ = unet(backend.zeros([2, 64, 64, 4], dtype: .f32), timestep: 1, context: backend.zeros([2, 77, 768], dtype: .f32))
        }
        assertGFLOP(tally.total, 1607, "UNet total")
        // The published split counts the transformers' proj_in/proj_out as
        // convolutions (SD 1.5 stores them as 1×1 convs) while sdgen runs them
        // as the linear layers they are, so only the sum of the two is compared.
        assertGFLOP(tally.convolution + tally.linear, 888 + 466, "UNet convolutions and linear layers")
        assertGFLOP(tally.attention, 252, "UNet attention")
    }

    func testVAEDecodeAt512() throws {
        let tally = try count { backend, weights in
            let decoder = try VAEDecoder(configuration: VAEConfiguration.stableDiffusion15, weights: weights("decoder"),
                                         postQuant: weights("post_quant_conv"))
            _ = decoder(backend.zeros([1, 64, 64, 4], dtype: .f32))
        }
        assertGFLOP(tally.total, 2515, "VAE decoder")
    }

    func testBertBase() throws {
        for (batch, length, expected) in [(1, 128, 22.0), (4, 128, 89), (1, 512, 97), (4, 512, 387)] {
            let tally = try count { _, weights in
                let bert = try BertModel(configuration: BertConfiguration(), weights: weights)
                _ = try bert(ids: Array(repeating: Array(repeating: 100, count: length), count: batch))
            }
            assertGFLOP(tally.total, expected, accuracy: 0.5, "BERT-base (\(batch), \(length))")
        }
    }
}
