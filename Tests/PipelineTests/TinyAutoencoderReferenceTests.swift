import Foundation
import ImageIO
import Models
import Pipeline
import TensorCore
import TestSupport
import XCTest

/// The tiny autoencoder (TAESD, diffusers' `AutoencoderTiny`) against
/// diffusers on random weights with TAESD's block structure
/// (scripts/reference/fixtures_taesd.py): its decode alone (within 1e-4 of
/// outputs in about [-1, 1]), and the tiny pipeline decoding with it as
/// `pipe.vae = AutoencoderTiny(…)` does (images within 2e-3 on [0, 1]
/// pixels), on every backend; previews every N steps, and what is refused.
final class TinyAutoencoderReferenceTests: XCTestCase {
    static let taesd = FixturePaths.url("taesd/taesd"), taesdX2 = FixturePaths.url("taesd/taesd_x2")

    func testDecodeMatchesDiffusers() throws {
        let fixture = try Fixture("taesd/decode_taesd.safetensors")
        for backend in TestBackends.all {
            let decoder = try TinyAutoencoderDecoder(folder: Self.taesd, backend: backend)
            XCTAssertEqual(decoder.configuration.scaleFactor, 8)
            let latents = try fixture.tensor("latents", on: backend).permuted([0, 2, 3, 1])
            let image = decoder(latents).permuted([0, 3, 1, 2])
            XCTAssertEqual(image.shape, fixture.shape("out"))
            assertClose(image.toArray(), try fixture.floats("out"), atol: 1e-4, rtol: 0, "TAESD decode on \(backend.name)")
        }
    }

    func testPipelineDecodingWithTAESDMatchesDiffusers() throws {
        let fixture = try Fixture("taesd/pipeline_taesd.safetensors")
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend)
            try service.attachTinyAutoencoder(folder: Self.taesdX2)
            var request = try GenerationRequest(fixture: fixture)
            request.width = try XCTUnwrap(fixture.int("width"))
            request.height = try XCTUnwrap(fixture.int("height"))
            request.decoder = .tiny
            let image = try XCTUnwrap(try service.generate(request).first)
            assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "TAESD pipeline on \(backend.name)")
            XCTAssertEqual(image.parameters.extra("VAE"), "taesd")
            // The full VAE's image differs by far more: the decoder in use is the tiny one.
            request.decoder = .model
            let full = try XCTUnwrap(try service.generate(request).first).pixels
            let moved = zip(full, try fixture.floats("image")).map { abs($0 - $1) }.max() ?? 0
            XCTAssertGreaterThan(moved, 0.1, "the model's VAE gives the TAESD image")
            XCTAssertNil(try XCTUnwrap(try service.generate(request).first).parameters.extra("VAE"))
        }
    }

    /// A preview after every N-th step but the last, each the tiny decode of
    /// that step's latents at the output's size.
    func testPreviewsEveryNSteps() throws {
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        try service.attachTinyAutoencoder(folder: Self.taesdX2)
        let tiny = LatentDecoder(tiny: try XCTUnwrap(service.tinyAutoencoder))
        var request = GenerationRequest(prompt: "a lighthouse", seed: 5)
        (request.width, request.height, request.steps, request.previewEvery) = (32, 24, 5, 2)
        var latents: [Int: GenerationEvent.StepProgress] = [:]
        var previews: [(step: Int, image: RGBImage)] = []
        _ = try service.generate(request) { event in
            switch event {
            case let .step(progress): latents[progress.step] = progress
            case let .preview(_, step, image): previews.append((step, image))
            default: break
            }
        }
        XCTAssertEqual(previews.map(\.step), [2, 4])
        for preview in previews {
            XCTAssertEqual([preview.image.width, preview.image.height], [32, 24])
            let progress = try XCTUnwrap(latents[preview.step])
            let expected = try RGBImage(vaeOutput: tiny.decode(progress.latents, shape: progress.shape, on: TestBackends.cpu),
                                        width: 32, height: 24, layout: .nhwc)
            XCTAssertEqual(preview.image.pixels, expected.pixels, "preview at step \(preview.step)")
        }
    }

    func testMismatchesAndMissingDecoderAreRefused() throws {
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        // TAESD decodes ×8 latents; the tiny pipeline's VAE is ×2.
        XCTAssertThrowsError(try service.attachTinyAutoencoder(folder: Self.taesd)) { error in
            XCTAssertTrue("\(error)".contains("×8") && "\(error)".contains("×2"), "\(error)")
        }
        for (decoder, every, parameter) in [(LatentDecoderChoice.tiny, 0, GenerationParameter.decoder),
                                            (.model, 2, .previewEvery)] {
            var request = GenerationRequest(prompt: "x", seed: 1)
            (request.width, request.height, request.steps, request.decoder, request.previewEvery) = (16, 16, 3, decoder, every)
            XCTAssertThrowsError(try service.generate(request)) { error in
                guard case .invalid(parameter, _)? = error as? GenerationError else { return XCTFail("\(error)") }
                XCTAssertTrue("\(error)".contains("TAESD"), "\(error)")
            }
        }
        var negative = GenerationRequest(prompt: "x", seed: 1)
        negative.previewEvery = -1
        XCTAssertThrowsError(try service.generate(negative)) { error in
            guard case .invalid(.previewEvery, _)? = error as? GenerationError else { return XCTFail("\(error)") }
        }
        // A config the decoder does not implement is named.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-taesd-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.taesdX2, to: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "\"relu\"", with: "\"gelu\"")
        try text.write(to: config, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TinyAutoencoderDecoder(folder: folder, backend: TestBackends.cpu)) { error in
            XCTAssertTrue("\(error)".contains("act_fn gelu"), "\(error)")
        }
    }
}
