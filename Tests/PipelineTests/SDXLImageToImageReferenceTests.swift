import Foundation
import ImageIO
import Pipeline
import SafeTensors
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// SDXL image to image and inpainting (4-channel UNet) against diffusers'
/// StableDiffusionXLImg2ImgPipeline and StableDiffusionXLInpaintPipeline on
/// the tiny SDXL (scripts/reference/fixtures_sdxl_img2img.py): the img2img
/// group's PNG inputs, size conditioning from the processed image, the empty
/// negative prompt zeroed; images within 2e-3 on [0, 1] pixels, every backend.
/// Also inpainting with a 9-channel UNet (as stable-diffusion-xl-1.0-inpainting-0.1:
/// latents, mask and masked-image latents concatenated; group sdxl_inpaint9).
final class SDXLImageToImageReferenceTests: XCTestCase {
    static func cases(_ kind: String, group: String = "sdxl_img2img") throws -> [String] {
        let data = try Data(contentsOf: FixturePaths.url("\(group)/cases.json"))
        return try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: [String]])?[kind])
    }

    /// The tiny SDXL with a 9-channel inpainting UNet in place of its own, in a
    /// new temporary folder. The fixture keeps only what differs from
    /// sdxl/model/unet (config.json with in_channels 9, and conv_in.weight), so
    /// the UNet file is assembled here: the base file's tensors with
    /// conv_in.weight replaced (the assembly the generator loads in diffusers
    /// and checks equal to the UNet it ran).
    static func makeInpaintingModel() throws -> URL {
        let manager = FileManager.default
        let root = manager.temporaryDirectory.appendingPathComponent("sdgen-sdxl-inpaint-\(UUID().uuidString)")
        let unet = root.appendingPathComponent("unet")
        try manager.createDirectory(at: unet, withIntermediateDirectories: true)
        for part in ["model_index.json", "scheduler", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "vae"] {
            try manager.createSymbolicLink(at: root.appendingPathComponent(part),
                                           withDestinationURL: FixturePaths.url("sdxl/model/\(part)"))
        }
        let delta = FixturePaths.url("sdxl_inpaint9/inpaint_unet")
        try manager.copyItem(at: delta.appendingPathComponent("config.json"), to: unet.appendingPathComponent("config.json"))
        let base = try SafeTensorsFile(url: FixturePaths.url("sdxl/model/unet/diffusion_pytorch_model.safetensors"))
        let replacements = try SafeTensorsFile(url: delta.appendingPathComponent("conv_in.safetensors"))
        XCTAssertEqual(replacements.names, ["conv_in.weight"])
        XCTAssertNotNil(base.info("conv_in.weight"))
        let entries = try base.names.map { name in
            let file = replacements.info(name) != nil ? replacements : base
            let info = try XCTUnwrap(file.info(name))
            return SafeTensorsWriter.Entry(name: name, dtype: info.dtype, shape: info.shape, bytes: Data(try file.bytes(name)))
        }
        try SafeTensorsWriter.write(entries, to: unet.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        return root
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
                try check(service, Fixture("sdxl_img2img/\(name).safetensors"), "SDXL \(name), on \(backend.name)")
            }
        }
    }

    func testNineChannelInpaintingMatchesDiffusers() throws {
        let model = try Self.makeInpaintingModel()
        defer { try? FileManager.default.removeItem(at: model) }
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(model), backend: backend)
            XCTAssertTrue(service.model.checkpoint.isInpainting)
            XCTAssertEqual(service.model.unet.configuration.inChannels, 9)
            for name in try Self.cases("inpaint9", group: "sdxl_inpaint9") {
                let fixture = try Fixture("sdxl_inpaint9/\(name).safetensors")
                XCTAssertEqual(fixture.int("unet"), 9, name)
                try check(service, fixture, "SDXL 9-channel \(name), on \(backend.name)")
            }
        }
    }

    /// One case: the image's shape, the steps left after the strength cut,
    /// and its pixels within 2e-3.
    private func check(_ service: GenerationService, _ fixture: Fixture, _ label: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        var evaluations = 0
        let image = try XCTUnwrap(try service.generate(try request(fixture)) { event in
            if case .step = event { evaluations += 1 }
        }.first)
        XCTAssertEqual([1, image.image.height, image.image.width, 3], fixture.shape("image"), label, file: file, line: line)
        XCTAssertEqual(evaluations, fixture.shape("timesteps").first, "\(label): steps run after the strength cut",
                       file: file, line: line)
        assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, label, file: file, line: line)
    }
}
