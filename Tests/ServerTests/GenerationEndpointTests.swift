import Foundation
import ImageIO
import Pipeline
import Schedulers
import Server
import TestSupport
import XCTest

/// txt2img and img2img over HTTP: the same image as the CLI's service call
/// and as diffusers' fixture, A1111's answer shape, progress, interrupt,
/// skip, and many clients at once.
final class GenerationEndpointTests: XCTestCase {
    var server: TestServer!

    override func setUp() async throws { server = try await TestServer() }
    override func tearDown() async throws { await server.stop() }

    /// The euler fixture's request as A1111 fields (diffusers' seeds: randn_source CPU).
    func eulerFixtureBody(_ fixture: Fixture) throws -> [String: Any] {
        [
            "prompt": try XCTUnwrap(fixture.string("prompt")), "negative_prompt": fixture.string("negative_prompt") ?? "",
            "seed": try XCTUnwrap(fixture.int("seed")), "steps": try XCTUnwrap(fixture.int("steps")),
            "cfg_scale": Double(try XCTUnwrap(fixture.float("guidance"))), "sampler_name": "Euler",
            "width": try XCTUnwrap(fixture.int("width")), "height": try XCTUnwrap(fixture.int("height")),
            "override_settings": ["randn_source": "CPU"],
        ]
    }

    /// The image equals diffusers' (within 1 of 255 levels, as the CLI's
    /// reference tests) and the CLI's own PNG for the same parameters, byte for byte.
    func testTextToImageEqualsDiffusersAndTheCLI() async throws {
        let fixture = try Fixture("pipeline/expected/euler.safetensors")
        let answer = try await server.call("/sdapi/v1/txt2img", json: try eulerFixtureBody(fixture))
        XCTAssertEqual(answer.status, 200, answer.text)
        let png = try XCTUnwrap(images(of: answer).first)

        // diffusers' pixels in [0, 1], rounded as its numpy conversion rounds them.
        let decoded = try ImageFile.decode([UInt8](png), name: "answer")
        let expected = try fixture.floats("image")
        let worst = zip(decoded.pixels, expected).map { abs(Int($0) - Int(($1 * 255).rounded())) }.max() ?? 99
        XCTAssertLessThanOrEqual(worst, 1, "levels off diffusers' image")

        // The CLI's request: what `sdgen … --rng torch --scheduler euler` sends to the service.
        // Loaded from the server's own weights folder, so the infotext names the model alike.
        let service = try GenerationService(loading: .path(server.folder.appendingPathComponent("weights/tiny")),
                                            backend: TestServer.backend)
        var request = GenerationRequest(prompt: try XCTUnwrap(fixture.string("prompt")), seed: 7)
        request.negativePrompt = "blurry"
        request.steps = 5
        request.guidance = 5
        request.scheduler = .euler
        request.width = 32
        request.height = 32
        let generated: [GeneratedImage] = try await service.generate(request)
        let cli = try XCTUnwrap(generated.first).pngData()
        XCTAssertTrue([UInt8](png) == cli, "the server's PNG differs from the CLI's")

        // A1111's answer: parameters echo the request, info is a JSON string with the seeds and infotexts.
        let info = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(answer.json["info"] as? String).utf8))
            as? [String: Any])
        XCTAssertEqual(info["all_seeds"] as? [Int], [7])
        XCTAssertEqual(info["sampler_name"] as? String, "Euler")
        let infotext = try XCTUnwrap((info["infotexts"] as? [String])?.first)
        XCTAssertTrue(infotext.hasPrefix("a red fox in the snow\nNegative prompt: blurry\nSteps: 5, Sampler: Euler, CFG scale: 5.0, Seed: 7, Size: 32x32"), infotext)
        XCTAssertEqual(try PNGFile.textChunks(of: [UInt8](png), name: "png")[PNGFile.parametersKey], infotext)
        let parameters = try XCTUnwrap(answer.json["parameters"] as? [String: Any])
        XCTAssertEqual(parameters["prompt"] as? String, "a red fox in the snow")
        XCTAssertEqual(parameters["steps"] as? Int, 5)
    }

    /// batch_size × n_iter images with consecutive seeds; -1 picks a seed; A1111's sampler names and schedules.
    func testBatchesSeedsAndSamplerNames() async throws {
        let answer = try await server.call("/sdapi/v1/txt2img", json: [
            "prompt": "a lighthouse", "steps": 2, "width": 16, "height": 16, "seed": 41, "batch_size": 2, "n_iter": 2,
            "sampler_name": "DPM++ 2M", "scheduler": "Karras",
        ])
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(try images(of: answer).count, 4)
        let info = try XCTUnwrap(JSONSerialization.jsonObject(with: Data((answer.json["info"] as? String ?? "").utf8)) as? [String: Any])
        XCTAssertEqual(info["all_seeds"] as? [Int], [41, 42, 43, 44])
        XCTAssertEqual(info["sampler_name"] as? String, "DPM++ 2M Karras")

        let random = try await server.call("/sdapi/v1/txt2img", json: ["prompt": "x", "steps": 1, "width": 16, "height": 16])
        let seed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data((random.json["info"] as? String ?? "").utf8)) as? [String: Any])["seed"]
        XCTAssertNotNil(seed as? Int)
        XCTAssertNotEqual(seed as? Int, -1)

        let noImages = try await server.call("/sdapi/v1/txt2img", json: ["prompt": "x", "steps": 1, "width": 16, "height": 16,
                                                                          "send_images": false])
        XCTAssertEqual((noImages.json["images"] as? [String])?.count, 0)
    }

    /// Eight clients at once: every one gets its image, each the image its seed makes alone.
    func testEightClientsAtOnce() async throws {
        let server = self.server!
        func body(_ seed: Int) throws -> Data {
            try encoded(["prompt": "a lighthouse", "steps": 3, "width": 32, "height": 32, "seed": seed, "sampler_name": "Euler a"])
        }
        let alone = try await images(of: server.call("/sdapi/v1/txt2img", raw: body(3)))[0]
        let answers = try await withThrowingTaskGroup(of: (Int, TestServer.Answer).self) { group in
            for seed in 0..<8 {
                let data = try body(seed)
                group.addTask { (seed, try await server.call("/sdapi/v1/txt2img", raw: data)) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        XCTAssertEqual(answers.count, 8)
        for (seed, answer) in answers {
            XCTAssertEqual(answer.status, 200, "seed \(seed): \(answer.text)")
            XCTAssertEqual(try images(of: answer).count, 1)
        }
        XCTAssertEqual(try images(of: try XCTUnwrap(answers[3]))[0], alone, "a concurrent request changed the image")
    }

    /// Progress reports a running job between 0 and 1 with a preview; interrupt ends a 400-step job
    /// within seconds and answers with the image so far, as A1111 does.
    func testProgressAndInterrupt() async throws {
        let server = self.server!
        let started = Date()
        let long = try encoded([
            "prompt": "a lighthouse", "steps": 400, "width": 128, "height": 128, "seed": 1, "sampler_name": "Euler a",
        ])
        let job = Task { try await server.call("/sdapi/v1/txt2img", raw: long) }
        let running = try await server.waitForProgress { ($0.state.int("sampling_step") ?? 0) >= 2 }
        let progress = try XCTUnwrap(running, "no step reported")
        let fraction = try XCTUnwrap(progress.double("progress"))
        XCTAssertGreaterThan(fraction, 0)
        XCTAssertLessThan(fraction, 1)
        XCTAssertEqual(progress.state.int("sampling_steps"), 400)
        XCTAssertEqual(progress.state["job"] as? String, "txt2img")
        let preview = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(progress["current_image"] as? String)))
        XCTAssertEqual(try ImageFile.decode([UInt8](preview), name: "preview").width, 64, "the latents' size")
        let skipped = try await server.call("/sdapi/v1/progress?skip_current_image=true").json
        XCTAssertTrue(skipped["current_image"] is NSNull)

        let interruptedAt = Date()
        let awaited1 = try await server.call("/sdapi/v1/interrupt", json: [String: Any]()).status
        XCTAssertEqual(awaited1, 200)
        let answer = try await job.value
        XCTAssertLessThan(Date().timeIntervalSince(interruptedAt), 5, "interrupt took too long")
        XCTAssertLessThan(Date().timeIntervalSince(started), 60)
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(try images(of: answer).count, 1, "the interrupted image is returned")
        let idle = try await server.call("/sdapi/v1/progress").json
        XCTAssertEqual(idle.double("progress"), 0)
        XCTAssertEqual(idle.state.int("job_count"), 0)
    }

    /// With a tiny autoencoder attached, the progress preview is its full-size decode every
    /// `show_progress_every_n_steps` steps, not the latent-size approximation.
    func testTinyAutoencoderPreview() async throws {
        let taesd = try await TestServer(tinyAutoencoder: FixturePaths.url("taesd/taesd_x2"))
        defer { Task { await taesd.stop() } }
        _ = try await taesd.call("/sdapi/v1/options", json: ["show_progress_every_n_steps": 1])
        let long = try encoded(["prompt": "a lighthouse", "steps": 400, "width": 128, "height": 128, "seed": 1])
        let job = Task { try await taesd.call("/sdapi/v1/txt2img", raw: long) }
        let progress = try await taesd.waitForProgress { ($0.state.int("sampling_step") ?? 0) >= 3 }
        let preview = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(progress?["current_image"] as? String)))
        XCTAssertEqual(try ImageFile.decode([UInt8](preview), name: "preview").width, 128, "the image's size")
        _ = try await taesd.call("/sdapi/v1/interrupt", json: [String: Any]())
        let answer = try await job.value
        XCTAssertEqual(answer.status, 200)
    }

    /// Skip ends the current image and goes on with the next (A1111's Skip).
    func testSkipMovesToTheNextImage() async throws {
        let server = self.server!
        let long = try encoded(["prompt": "a lighthouse", "steps": 400, "width": 64, "height": 64, "seed": 1, "n_iter": 2])
        let job = Task { try await server.call("/sdapi/v1/txt2img", raw: long) }
        _ = try await server.waitForProgress { ($0.state.int("sampling_step") ?? 0) >= 1 }
        _ = try await server.call("/sdapi/v1/skip", json: [String: Any]())
        let second = try await server.waitForProgress { ($0.state.int("job_no") ?? 0) == 1 && ($0.state.int("sampling_step") ?? 0) >= 1 }
        XCTAssertNotNil(second, "the second image did not start")
        _ = try await server.call("/sdapi/v1/interrupt", json: [String: Any]())
        let answer = try await job.value
        XCTAssertEqual(try images(of: answer).count, 2)
    }

    /// img2img with an init image and a mask, as base64 and as a data URL.
    func testImageToImageAndInpainting() async throws {
        let init_ = try RGBImage(width: 32, height: 32, pixels: (0..<(32 * 32 * 3)).map { UInt8($0 % 251) })
        let mask = try RGBImage(width: 32, height: 32, pixels: (0..<(32 * 32 * 3)).map { $0 < 32 * 16 * 3 ? 255 : 0 })
        let initPNG = Data(try PNGFile.encode(init_)).base64EncodedString()
        let maskPNG = "data:image/png;base64," + Data(try PNGFile.encode(mask)).base64EncodedString()
        let plain = try await server.call("/sdapi/v1/img2img", json: [
            "prompt": "a lighthouse", "init_images": [initPNG], "denoising_strength": 0.5, "steps": 4, "seed": 3,
        ])
        XCTAssertEqual(plain.status, 200, plain.text)
        let image = try ImageFile.decode([UInt8](try images(of: plain)[0]), name: "img2img")
        XCTAssertEqual([image.width, image.height], [32, 32], "the init image's size")
        let inpainted = try await server.call("/sdapi/v1/img2img", json: [
            "prompt": "a lighthouse", "init_images": [initPNG], "mask": maskPNG, "steps": 4, "seed": 3,
        ])
        XCTAssertEqual(inpainted.status, 200, inpainted.text)
        let result = try ImageFile.decode([UInt8](try images(of: inpainted)[0]), name: "inpainted")
        // A1111's default mask blur (4: a Gaussian reaching 10 rows) lays the result over the init
        // image: rows beyond its reach inside the black half are the init image's own; the white half is repainted.
        let kept = (32 * 27 * 3)..<(32 * 32 * 3), repainted = 0..<(32 * 6 * 3)
        XCTAssertTrue(Array(result.pixels[kept]) == Array(init_.pixels[kept]), "the kept rows changed")
        XCTAssertTrue(Array(result.pixels[repainted]) != Array(init_.pixels[repainted]), "nothing was repainted")
        // A1111's API inpaints "Only masked" unless told otherwise; inpaint_full_res false is the whole picture.
        func infotext(_ answer: TestServer.Answer) throws -> String {
            let info = try XCTUnwrap(JSONSerialization.jsonObject(with: Data((answer.json["info"] as? String ?? "").utf8)) as? [String: Any])
            return try XCTUnwrap((info["infotexts"] as? [String])?.first)
        }
        let onlyMasked = try infotext(inpainted)
        XCTAssertTrue(onlyMasked.contains("Inpaint area: Only masked, Masked area padding: 0"), onlyMasked)
        let whole = try await server.call("/sdapi/v1/img2img", json: [
            "prompt": "a lighthouse", "init_images": [initPNG], "mask": maskPNG, "steps": 4, "seed": 3,
            "inpaint_full_res": 0, "inpaint_full_res_padding": 16,
        ])
        XCTAssertEqual(whole.status, 200, whole.text)
        let wholeText = try infotext(whole)
        XCTAssertFalse(wholeText.contains("Inpaint area"), wholeText)
        XCTAssertEqual(try ImageFile.decode([UInt8](try images(of: whole)[0]), name: "whole").width, 32)
    }

    /// save_images writes each image to the outputs folder, named as the CLI names them; nothing else is written.
    func testSaveImagesWritesToOutputs() async throws {
        let outputs = server.server.configuration.outputsFolder
        _ = try await server.call("/sdapi/v1/txt2img", json: ["prompt": "x", "steps": 1, "width": 16, "height": 16, "seed": 5])
        XCTAssertFalse(FileManager.default.fileExists(atPath: outputs.path), "written without save_images")
        let answer = try await server.call("/sdapi/v1/txt2img", json: ["prompt": "a fox", "steps": 1, "width": 16, "height": 16,
                                                                        "seed": 5, "save_images": true])
        let files = try FileManager.default.contentsOfDirectory(atPath: outputs.path)
        XCTAssertEqual(files.count, 1)
        XCTAssertTrue(files[0].hasPrefix("00000-5-") && files[0].hasSuffix(".png"), files[0])
        let saved = try Data(contentsOf: outputs.appendingPathComponent(files[0]))
        XCTAssertEqual(saved, try images(of: answer)[0])
    }
}
