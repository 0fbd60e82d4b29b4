import Foundation
import ImageIO
import Pipeline
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// SDXL image to image and inpainting (4-channel UNet) against diffusers'
/// StableDiffusionXLImg2ImgPipeline and StableDiffusionXLInpaintPipeline on
/// the tiny SDXL (scripts/reference/fixtures_sdxl_img2img.py): the img2img
/// group's PNG inputs, size conditioning from the processed image, the empty
/// negative prompt zeroed; images within 2e-3 on [0, 1] pixels, every backend.
final class SDXLImageToImageReferenceTests: XCTestCase {
    static func cases(_ kind: String) throws -> [String] {
        let data = try Data(contentsOf: FixturePaths.url("sdxl_img2img/cases.json"))
        return try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: [String]])?[kind])
    }

    func request(_ fixture: Fixture) throws -> GenerationRequest {
        var request = try GenerationRequest(fixture: fixture)
        request.strength = try XCTUnwrap(fixture.string("strength").flatMap(Double.init))
        request.initImage = try ImageToImageReferenceTests.png(try XCTUnwrap(fixture.string("image")))
        if let mask = fixture.string("mask") { request.mask = try ImageToImageReferenceTests.png(mask) }
        request.promptSyntax = .diffusers
        return request
    }

    func testImageToImageAndInpaintingMatchDiffusers() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(FixturePaths.url("sdxl/model")), backend: backend)
            for name in try Self.cases("img2img") + Self.cases("inpaint") {
                let fixture = try Fixture("sdxl_img2img/\(name).safetensors")
                var evaluations = 0
                let image = try XCTUnwrap(try service.generate(try request(fixture)) { event in
                    if case .step = event { evaluations += 1 }
                }.first)
                XCTAssertEqual([1, image.image.height, image.image.width, 3], fixture.shape("image"), name)
                XCTAssertEqual(evaluations, fixture.shape("timesteps").first, "\(name): steps run after the strength cut")
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "SDXL \(name), on \(backend.name)")
            }
        }
    }
}
