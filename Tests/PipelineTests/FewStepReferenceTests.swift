import Foundation
import ImageIO
import Pipeline
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// Few-step sampling against diffusers on the tiny model: `LCMScheduler` at
/// 2, 4 and 8 steps, with guidance and without (guidance 1 runs only the
/// conditional batch), and image to image — the same seeded generator for
/// the initial latents and every step's noise (scripts/reference/fixtures_few_step.py).
/// Images within 2e-3 on [0, 1] pixels, on every backend.
final class FewStepReferenceTests: XCTestCase {
    static let folder = FixturePaths.url("few_step")

    static func cases(_ kind: String) throws -> [String] {
        let data = try Data(contentsOf: folder.appendingPathComponent("cases.json"))
        return try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: [String]])?[kind])
    }

    func testLCMTextToImageMatchesDiffusers() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend)
            for name in try Self.cases("text_to_image") {
                let fixture = try Fixture("few_step/\(name).safetensors")
                var request = try GenerationRequest(fixture: fixture)
                request.width = try XCTUnwrap(fixture.int("width"))
                request.height = try XCTUnwrap(fixture.int("height"))
                var evaluations: [Int] = []
                let image = try XCTUnwrap(try service.generate(request) { event in
                    if case let .step(progress) = event { evaluations.append(progress.step) }
                }.first)
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "\(name), on \(backend.name)")
                XCTAssertEqual(evaluations.count, request.steps, name)
                XCTAssertEqual(image.parameters.sampler, "LCM", name)
            }
        }
    }

    func testLCMImageToImageMatchesDiffusers() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend)
            for name in try Self.cases("image_to_image") {
                let fixture = try Fixture("few_step/\(name).safetensors")
                var request = try GenerationRequest(fixture: fixture)
                let png = FixturePaths.url("img2img/\(try XCTUnwrap(fixture.string("image"))).png")
                request.initImage = try PNGFile.read(at: png).image
                request.strength = Double(try XCTUnwrap(fixture.string("strength")))
                let image = try XCTUnwrap(try service.generate(request).first)
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "\(name), on \(backend.name)")
            }
        }
    }
}
