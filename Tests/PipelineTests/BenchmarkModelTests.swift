import Models
import Pipeline
import TensorCore
import XCTest

/// `sdgen bench --model`'s architectures have the real models' shapes:
/// one UNet step's FLOPs at the model's size and batch equal what PyTorch's
/// FlopCounterMode counts for diffusers' UNet2DConditionModel built from the
/// same config (SD 1.5; SD 2.1 at 768², batch 2; SD-Turbo at 512², batch 1;
/// SDXL at 1024², batch 2, and SDXL-Turbo at 512², batch 1, with the added
/// conditioning), to the FLOP.
final class BenchmarkModelTests: XCTestCase {
    static let diffusersUNetFLOPs: [BenchmarkModel: Double] = [
        .sd15: 1_606_546_882_560, .sd21: 4_298_211_491_840, .sdTurbo: 804_257_464_320,
        .sdxl: 13_522_472_796_160, .sdxlTurbo: 1_588_778_762_240,
    ]

    func testUNetWorkEqualsDiffusers() throws {
        for model in BenchmarkModel.allCases {
            let benchmark = try StableDiffusionBenchmark(model: model, randomWeightsOn: FLOPCounter())
            let work = try benchmark.flops(width: model.defaultSize, height: model.defaultSize)
            XCTAssertEqual(work.unet, try XCTUnwrap(Self.diffusersUNetFLOPs[model]), "\(model)")
        }
        XCTAssertEqual(BenchmarkModel.sdTurbo.batch, 1)
        XCTAssertEqual(BenchmarkModel.sd21.defaultSize, 768)
    }
}
