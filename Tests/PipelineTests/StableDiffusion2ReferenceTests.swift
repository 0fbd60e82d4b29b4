import Foundation
import ImageIO
import Pipeline
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// SD 2.x-style models against diffusers' StableDiffusionPipeline on a tiny
/// random-weight model with SD 2's options (scripts/reference/fixtures_sd2.py):
/// linear projections in the transformers, per-level head counts, upcast
/// attention, a gelu text encoder whose tokenizer pads with "!", a
/// v-prediction DDIM scheduler config; sampled with DDIM, Euler, DPM++ 2M,
/// trailing spacing, a long prompt, and SD-Turbo's one step without guidance.
/// Images within 2e-3 on [0, 1] pixels before rounding (so within one of 255
/// levels after), on every backend.
final class StableDiffusion2ReferenceTests: XCTestCase {
    static let folder = FixturePaths.url("sd2")

    static func cases() throws -> [String] {
        let data = try Data(contentsOf: folder.appendingPathComponent("cases.json"))
        let object = try JSONSerialization.jsonObject(with: data)
        return try XCTUnwrap(object as? [String] ?? (object as? [String: [String]])?.values.flatMap { $0 })
    }

    func testModelReadsItsSD2Configuration() throws {
        let service = try GenerationService(loading: .path(Self.folder.appendingPathComponent("model")), backend: TestBackends.cpu)
        XCTAssertEqual(service.model.schedulerConfiguration.predictionType, .vPrediction)
        XCTAssertEqual(service.model.defaultScheduler, .ddim)
        let sampleSize = try XCTUnwrap(service.model.unet.configuration.sampleSize)
        XCTAssertEqual(service.model.defaultImageSize, sampleSize * service.model.vaeScaleFactor)
    }

    func testImagesMatchDiffusers() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(Self.folder.appendingPathComponent("model")), backend: backend)
            let tokenizer = service.model.textEncoders[0].tokenizer
            for name in try Self.cases() {
                let fixture = try Fixture("sd2/\(name).safetensors")
                var request = try GenerationRequest(fixture: fixture)
                request.width = try XCTUnwrap(fixture.int("width"))
                request.height = try XCTUnwrap(fixture.int("height"))
                request.timestepSpacing = fixture.string("timestep_spacing").flatMap(SchedulerConfiguration.TimestepSpacing.init)
                request.predictionType = fixture.string("prediction_type").flatMap(SchedulerConfiguration.PredictionType.init)
                // diffusers' literal reading (one prompt runs past 77 tokens and is cut there).
                request.promptSyntax = .diffusers
                XCTAssertEqual(tokenizer.encode(request.prompt, maxLength: 77).ids.map(Int64.init), try fixture.integers("input_ids"),
                               "\(name): prompt ids ('!' padding)")
                let image = try XCTUnwrap(try service.generate(request).first)
                XCTAssertEqual(image.truncatedTokens.prompt > 0, fixture.string("truncated") == "1", "\(name): truncation")
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "sd2 \(name), on \(backend.name)")
            }
        }
    }
}
