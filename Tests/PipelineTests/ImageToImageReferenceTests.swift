import Foundation
import ImageIO
import Pipeline
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// Image-to-image and inpainting against diffusers on the tiny model
/// (scripts/reference/fixtures_img2img.py): `StableDiffusionImg2ImgPipeline`
/// over several schedulers and strengths, and `StableDiffusionInpaintPipeline`
/// with the 4-channel UNet and with a 9-channel inpainting UNet — the same
/// PNG inputs, seeds and generator draws; images within 2e-3 on [0, 1] pixels.
final class ImageToImageReferenceTests: XCTestCase {
    static let folder = FixturePaths.url("img2img")

    static func cases(_ kind: String) throws -> [String] {
        let data = try Data(contentsOf: folder.appendingPathComponent("cases.json"))
        return try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: [String]])?[kind])
    }

    static func png(_ name: String) throws -> RGBImage {
        try PNGFile.read(at: folder.appendingPathComponent(name + ".png")).image
    }

    /// The tiny pipeline with the 9-channel inpainting UNet in place of its own.
    static let inpaintingModel: URL = {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-inpaint-\(getpid())")
        try? FileManager.default.removeItem(at: root)
        try! FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for part in ["model_index.json", "scheduler", "text_encoder", "tokenizer", "vae"] {
            try! FileManager.default.createSymbolicLink(at: root.appendingPathComponent(part),
                                                        withDestinationURL: FixturePaths.url("pipeline/\(part)"))
        }
        try! FileManager.default.createSymbolicLink(at: root.appendingPathComponent("unet"),
                                                    withDestinationURL: folder.appendingPathComponent("inpaint_unet"))
        return root
    }()

    func request(_ fixture: Fixture) throws -> GenerationRequest {
        var request = try GenerationRequest(fixture: fixture)
        request.strength = try XCTUnwrap(fixture.string("strength").flatMap(Double.init))
        request.initImage = try Self.png(try XCTUnwrap(fixture.string("image")))
        if let mask = fixture.string("mask") { request.mask = try Self.png(mask) }
        request.outpaint = fixture.string("outpaint").flatMap(OutpaintMargins.init(argument:))
        return request
    }

    func testImageToImageMatchesDiffusers() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend)
            // On the GPU: partial and full strength, in two image shapes.
            for name in TestBackends.cases(try Self.cases("img2img"), on: backend, gpu: ["euler_06", "ddim_full"]) {
                let fixture = try Fixture("img2img/\(name).safetensors")
                let request = try request(fixture)
                var steps: [Int] = []
                let image = try XCTUnwrap(try service.generate(request) { event in
                    if case let .step(progress) = event { steps.append(progress.steps) }
                }.first)
                // diffusers' size: the image's, rounded down (and the image resized to it).
                XCTAssertEqual([1, image.image.height, image.image.width, 3], fixture.shape("image"), name)
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0,
                            "img2img \(name), on \(backend.name)")
                XCTAssertEqual(image.parameters.extra("Denoising strength"), fixture.string("strength"), name)
                XCTAssertFalse(steps.isEmpty, name)
            }
        }
    }

    func testInpaintingMatchesDiffusers() throws {
        for backend in TestBackends.all {
            let regular = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend)
            let inpainting = try GenerationService(loading: .path(Self.inpaintingModel), backend: backend)
            XCTAssertTrue(inpainting.model.checkpoint.isInpainting)
            // On the GPU: each UNet, and an outpainted canvas (another shape).
            for name in TestBackends.cases(try Self.cases("inpaint") + Self.cases("outpaint"), on: backend,
                                           gpu: ["inpaint4_euler", "inpaint9_euler", "outpaint9_dpm"]) {
                let fixture = try Fixture("img2img/\(name).safetensors")
                let service = fixture.int("unet") == 9 ? inpainting : regular
                let image = try XCTUnwrap(try service.generate(try request(fixture)).first)
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0,
                            "inpainting \(name), on \(backend.name)")
            }
        }
    }
}

/// A1111's mask blur against OpenCV's GaussianBlur as A1111 calls it, and the
/// blurred inpainting's final image (diffusers' inpainting with the blurred
/// mask, laid over the init image through it) — within one level.
final class MaskBlurReferenceTests: XCTestCase {
    func testBlurAndOverlayMatchA1111() throws {
        let fixture = try Fixture("img2img/inpaint4_blur.safetensors")
        let image = try PNGFile.read(at: FixturePaths.url("img2img/init_40x24.png")).image
        let mask = try PNGFile.read(at: FixturePaths.url("img2img/mask_40x24.png")).image
        let radius = try XCTUnwrap(fixture.int("mask_blur"))
        let soft = MaskBlur.blurred(mask.grey, width: mask.width, height: mask.height, radius: radius)
        let expectedSoft = try fixture.integers("soft_mask")
        let maskError = zip(soft, expectedSoft).map { abs(Int64($0) - $1) }.max() ?? 0
        print("parity: mask blur \(radius) against cv2.GaussianBlur: max error \(maskError) levels")
        XCTAssertLessThanOrEqual(maskError, 1)

        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        var request = try GenerationRequest(fixture: fixture)
        request.strength = try XCTUnwrap(fixture.string("strength").flatMap(Double.init))
        request.initImage = image
        request.mask = mask
        request.maskBlur = radius
        let result = try XCTUnwrap(try service.generate(request).first)
        let expected = try fixture.integers("final")
        let errors = zip(result.image.pixels, expected).map { abs(Int64($0) - $1) }
        print("parity: blurred inpainting overlay: max error \(errors.max() ?? 0) levels, "
              + "\(errors.filter { $0 > 1 }.count) of \(errors.count) values off by more than 1")
        XCTAssertGreaterThanOrEqual(Double(errors.filter { $0 <= 1 }.count) / Double(errors.count), 0.99)
        XCTAssertEqual(result.parameters.extra("Mask blur"), "\(radius)")
    }
}
