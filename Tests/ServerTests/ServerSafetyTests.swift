import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ImageIO
import Pipeline
import Server
import TestSupport
import XCTest

/// Every bad request gets its 4xx with a JSON error naming the field, and
/// the server goes on serving; authentication, limits, the queue's
/// refusals, model and LoRA names only from their folders, shutdown.
final class ServerSafetyTests: XCTestCase {
    let small: [String: Any] = ["prompt": "a lighthouse", "steps": 1, "width": 16, "height": 16, "seed": 1]

    func with(_ body: [String: Any], _ changes: [String: Any]) -> [String: Any] {
        body.merging(changes) { _, new in new }
    }

    func testBadRequestsGetTheirStatusAndTheServerKeepsServing() async throws {
        let server = try await TestServer(configure: { $0.maxBodyBytes = 64 << 10 })
        defer { Task { await server.stop() } }
        let huge = Data(repeating: 0x20, count: 200 << 10)
        let cases: [(String, Data?, [String: Any]?, Int, String?)] = [
            ("not JSON", Data("{bad".utf8), nil, 422, "body"),
            ("not an object", Data("[1]".utf8), nil, 422, "body"),
            ("steps 0", nil, with(small, ["steps": 0]), 422, "steps"),
            ("steps text", nil, with(small, ["steps": "20"]), 422, "steps"),
            ("steps fraction", nil, with(small, ["steps": 2.5]), 422, "steps"),
            ("steps beyond training", nil, with(small, ["steps": 5000]), 422, "steps"),
            ("width not multiple of 8", nil, with(small, ["width": 17]), 422, "width"),
            ("too large for memory", nil, with(small, ["width": 1 << 20, "height": 1 << 20]), 422, "width"),
            ("negative cfg", nil, with(small, ["cfg_scale": -1]), 422, "cfg_scale"),
            ("unknown sampler", nil, with(small, ["sampler_name": "Euler b"]), 422, "sampler_name"),
            ("unknown schedule", nil, with(small, ["sampler_name": "Euler", "scheduler": "Polyexponential"]), 422, "scheduler"),
            ("hires fix", nil, with(small, ["enable_hr": true]), 422, "enable_hr"),
            ("a script", nil, with(small, ["script_name": "x/y/z plot"]), 422, "script_name"),
            ("a refiner", nil, with(small, ["refiner_checkpoint": "sdxl_refiner"]), 422, "refiner_checkpoint"),
            ("initial noise ×0.5", nil, with(small, ["initial_noise_multiplier": 0.5]), 422, "initial_noise_multiplier"),
            ("too many images", nil, with(small, ["batch_size": 50, "n_iter": 50]), 422, "n_iter"),
            ("prompt not text", nil, with(small, ["prompt": ["a"]]), 422, "prompt"),
            ("unknown model override", nil, with(small, ["override_settings": ["sd_model_checkpoint": "../../etc/passwd"]]), 422, "override_settings"),
            ("clip skip beyond the encoder", nil, with(small, ["override_settings": ["CLIP_stop_at_last_layers": 40]]), 422, "CLIP_stop_at_last_layers"),
            ("bad randn_source", nil, with(small, ["override_settings": ["randn_source": "TPU"]]), 422, "override_settings"),
            ("LoRA by path", nil, with(small, ["prompt": "x <lora:../../etc/passwd:1>"]), 422, "prompt"),
            ("unclosed LoRA tag", nil, with(small, ["prompt": "x <lora:abc"]), 422, "prompt"),
            ("body too large", huge, nil, 413, nil),
        ]
        for (name, raw, json, status, field) in cases {
            let answer = try await server.call("/sdapi/v1/txt2img", json: json, raw: raw)
            XCTAssertEqual(answer.status, status, "\(name): \(answer.text)")
            if let field { XCTAssertEqual(answer.json["field"] as? String, field, "\(name): \(answer.text)") }
            XCTAssertNotNil(answer.json["detail"] as? String, "\(name): no JSON error")
        }
        let img2img: [(String, [String: Any], String)] = [
            ("no init image", small, "init_images"),
            ("not base64", with(small, ["init_images": ["@@@"]]), "init_images"),
            ("not an image", with(small, ["init_images": [Data("hello".utf8).base64EncodedString()]]), "init_images"),
            ("a URL", with(small, ["init_images": ["https://example.com/a.png"]]), "init_images"),
            ("strength 0", with(small, ["init_images": [try tinyPNG()], "denoising_strength": 0]), "denoising_strength"),
            ("all-black mask", with(small, ["init_images": [try tinyPNG()], "mask": try tinyPNG(value: 0), "steps": 4]), "mask"),
            ("latent upscale", with(small, ["init_images": [try tinyPNG()], "resize_mode": 3]), "resize_mode"),
        ]
        for (name, body, field) in img2img {
            let answer = try await server.call("/sdapi/v1/img2img", json: body)
            XCTAssertEqual(answer.status, 422, "\(name): \(answer.text)")
            XCTAssertEqual(answer.json["field"] as? String, field, "\(name): \(answer.text)")
        }
        let options = try await server.call("/sdapi/v1/options", json: ["sd_model_checkpoint": "/etc/passwd"])
        XCTAssertEqual(options.status, 422, options.text)
        let wrongMethod = try await server.call("/sdapi/v1/txt2img")
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.headers["allow"], "POST")
        let unknown = try await server.call("/sdapi/v1/nothing")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertEqual(unknown.json["detail"] as? String, "no such route: GET /sdapi/v1/nothing")
        let pngInfo = try await server.call("/sdapi/v1/png-info", json: ["image": Data("not a png".utf8).base64EncodedString()])
        XCTAssertEqual(pngInfo.status, 422, pngInfo.text)
        // Still serving.
        let fine = try await server.call("/sdapi/v1/txt2img", json: small)
        XCTAssertEqual(fine.status, 200, fine.text)
    }

    /// What a client can get wrong in its prompt, its LoRAs or its body's type
    /// is a 4xx that names no server path — each of these was a 500 (the NUL
    /// after the image was made, the overflow a black image with 200).
    func testPromptLoRAAndBodyTypeFaultsAre4xx() async throws {
        let junk = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-junk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: junk, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: junk) }
        let junkFile = junk.appendingPathComponent("junk.safetensors")
        try Data((0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }).write(to: junkFile)
        let server = try await TestServer(loras: ["style": FixturePaths.url("lora/files/kohya.safetensors"), "junk": junkFile])
        defer { Task { await server.stop() } }
        let cases: [(String, [String: Any], String?)] = [
            ("NUL in the prompt", with(small, ["prompt": "a\u{0}b"]), "prompt"),
            ("NUL in the negative prompt", with(small, ["negative_prompt": "\u{0}"]), "prompt"),
            ("over 32 chunks of tokens", with(small, ["prompt": String(repeating: "x ", count: 2500)]), "prompt"),
            ("a corrupt LoRA", with(small, ["prompt": "a <lora:junk:1>"]), "prompt"),
            ("a LoRA weight that overflows", with(small, ["prompt": "a <lora:style:1e30>"]), nil),
        ]
        for (name, body, field) in cases {
            let answer = try await server.call("/sdapi/v1/txt2img", json: body)
            XCTAssertEqual(answer.status, 422, "\(name): \(answer.text)")
            XCTAssertEqual(answer.json["field"] as? String, field, "\(name): \(answer.text)")
            XCTAssertFalse(answer.text.contains(junk.path), "\(name) shows a server path: \(answer.text)")
        }
        let plain = try await server.call("/sdapi/v1/txt2img", json: small, headers: ["Content-Type": "text/plain"])
        XCTAssertEqual(plain.status, 415, plain.text)
        XCTAssertEqual(plain.json["field"] as? String, "body")
        let charset = try await server.call("/sdapi/v1/txt2img", json: small,
                                            headers: ["Content-Type": "application/json; charset=utf-8"])
        XCTAssertEqual(charset.status, 200, charset.text)
        // A1111's older sampler names (k-diffusion's) still name their samplers.
        let legacy = try await server.call("/sdapi/v1/txt2img", json: with(small, ["sampler_name": "k_dpmpp_2m_ka"]))
        XCTAssertEqual(legacy.status, 200, legacy.text)
        XCTAssertTrue(legacy.text.contains("Sampler: DPM++ 2M Karras"), legacy.text)
    }

    /// A connection that stops part-way through its request headers is
    /// closed after the idle timeout (it was held open for good).
    func testHalfSentRequestIsClosedWhenIdle() async throws {
        let server = try await TestServer(configure: { $0.idleTimeout = .seconds(1) })
        defer { Task { await server.stop() } }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(try XCTUnwrap(server.base.port)).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(connected, 0)
        let partial = "POST /sdapi/v1/txt2img HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        XCTAssertEqual(partial.withCString { send(descriptor, $0, strlen($0), 0) }, partial.utf8.count)
        // recv returns 0 (end of stream) once the server closes; 10 s is far past the timeout.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        let started = Date()
        XCTAssertEqual(recv(descriptor, &byte, 1, 0), 0, "the server did not close the connection")
        XCTAssertLessThan(Date().timeIntervalSince(started), 9)
        // And serves on.
        let fine = try await server.call("/sdapi/v1/txt2img", json: small)
        XCTAssertEqual(fine.status, 200, fine.text)
    }

    func tinyPNG(value: UInt8 = 255) throws -> String {
        Data(try PNGFile.encode(try RGBImage(width: 16, height: 16, pixels: [UInt8](repeating: value, count: 16 * 16 * 3))))
            .base64EncodedString()
    }

    func testBasicAuthentication() async throws {
        let server = try await TestServer(configure: {
            $0.credentials = try! BasicAuthentication.parse("alice:s3cret:x,bob:pw")
        })
        defer { Task { await server.stop() } }
        let port = try XCTUnwrap(server.base.port)
        func status(_ path: String, _ user: String? = nil) throws -> (status: Int, headers: [String: String]) {
            try RawHTTP.get(port: port, path: path,
                            headers: user.map { ["Authorization": "Basic " + Data($0.utf8).base64EncodedString()] } ?? [:])
        }
        for path in ["/sdapi/v1/options", "/", "/metrics"] {
            let refused = try status(path)
            XCTAssertEqual(refused.status, 401, path)
            XCTAssertEqual(refused.headers["www-authenticate"], "Basic realm=\"sdgen\", charset=\"UTF-8\"")
        }
        XCTAssertEqual(try status("/sdapi/v1/options", "alice:wrong").status, 401)
        XCTAssertEqual(try status("/sdapi/v1/options", "alice:s3cret").status, 401)
        XCTAssertEqual(try status("/sdapi/v1/options", "nobody:pw").status, 401)
        XCTAssertEqual(try status("/sdapi/v1/options", "alice:s3cret:x").status, 200)
        XCTAssertEqual(try status("/", "bob:pw").status, 200)
        let generated = try await server.call("/sdapi/v1/txt2img", json: small, user: ("bob", "pw"))
        XCTAssertEqual(generated.status, 200)
        XCTAssertThrowsError(try BasicAuthentication<ServerRequestContext>.parse("nopassword"))
    }

    /// A full queue refuses with 503 and says when to retry; a client that hangs up while waiting leaves the queue.
    func testQueueLimitAndDisconnectedClients() async throws {
        let server = try await TestServer(configure: { $0.queueLimit = 1 })
        defer { Task { await server.stop() } }
        let long = try encoded(with(small, ["steps": 400, "width": 128, "height": 128]))
        let short = try encoded(small)
        let running = Task { try await server.call("/sdapi/v1/txt2img", raw: long) }
        _ = try await server.waitForProgress { ($0.state.int("sampling_step") ?? 0) >= 1 }

        // A waiting client that gives up: its own session, cancelled.
        let session = URLSession(configuration: .ephemeral)
        let waiting = Task { try await server.call("/sdapi/v1/txt2img", raw: short, session: session) }
        let queued = try await server.waitForProgress { ($0.state.int("queued") ?? 0) == 1 }
        XCTAssertNotNil(queued, "the second job never queued")
        let full = try await server.call("/sdapi/v1/txt2img", json: small)
        XCTAssertEqual(full.status, 503, full.text)
        XCTAssertNotNil(full.json["detail"] as? String)
        // When to come back: the running job's time left, in whole seconds (it has made a step).
        let retryAfter = try XCTUnwrap(full.headers["retry-after"].flatMap { Int($0) }, "no Retry-After seconds")
        XCTAssertGreaterThanOrEqual(retryAfter, 1)

        waiting.cancel()
        session.invalidateAndCancel()
        let emptied = try await server.waitForProgress(seconds: 10) { ($0.state.int("queued") ?? -1) == 0 }
        XCTAssertNotNil(emptied, "the disconnected client's job stayed in the queue")
        // Its place is free again.
        let next = Task { try await server.call("/sdapi/v1/txt2img", raw: short) }
        _ = try await server.waitForProgress { ($0.state.int("queued") ?? 0) == 1 }
        _ = try await server.call("/sdapi/v1/interrupt", json: [String: Any]())
        let awaited6 = try await running.value.status
        XCTAssertEqual(awaited6, 200)
        let awaited7 = try await next.value.status
        XCTAssertEqual(awaited7, 200)
    }

    /// Shutting the queue (what SIGTERM does first) cancels the running job at its
    /// next step — a 503, no image, no file — and refuses the waiting and later ones.
    func testShutdownCancelsTheRunningJobAndWritesNothing() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let long = try encoded(with(small, ["steps": 400, "width": 128, "height": 128, "save_images": true]))
        let short = try encoded(small)
        let running = Task { try await server.call("/sdapi/v1/txt2img", raw: long) }
        _ = try await server.waitForProgress { ($0.state.int("sampling_step") ?? 0) >= 1 }
        let waiting = Task { try await server.call("/sdapi/v1/txt2img", raw: short) }
        _ = try await server.waitForProgress { ($0.state.int("queued") ?? 0) == 1 }
        let start = Date()
        await server.server.queue.shutDown()
        let answers = [try await running.value, try await waiting.value]
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertEqual(answers.map(\.status), [503, 503], answers.map(\.text).joined(separator: "\n"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.server.configuration.outputsFolder.path))
        let awaited8 = try await server.call("/sdapi/v1/txt2img", json: small).status
        XCTAssertEqual(awaited8, 503)
    }

    /// sd_model_checkpoint switches among the weights folder's models by name, never by path;
    /// options round-trip, unknown ones are kept.
    func testOptionsAndModelSwitching() async throws {
        let server = try await TestServer(secondModel: true)
        defer { Task { await server.stop() } }
        let models = try await server.call("/sdapi/v1/sd-models").array
        XCTAssertEqual(models.compactMap { $0["title"] as? String }, ["tiny", "tiny-b"])
        var options = try await server.call("/sdapi/v1/options").json
        XCTAssertEqual(options["sd_model_checkpoint"] as? String, "tiny")
        XCTAssertEqual(options["randn_source"] as? String, "GPU")

        let set = try await server.call("/sdapi/v1/options", json: [
            "sd_model_checkpoint": "tiny-b", "CLIP_stop_at_last_layers": 2, "randn_source": "CPU",
            "eta_noise_seed_delta": 31337, "samples_format": "png",
        ])
        XCTAssertEqual(set.status, 200, set.text)
        options = try await server.call("/sdapi/v1/options").json
        XCTAssertEqual(options["sd_model_checkpoint"] as? String, "tiny-b")
        XCTAssertEqual(options["CLIP_stop_at_last_layers"] as? Int, 2)
        XCTAssertEqual(options["samples_format"] as? String, "png")
        XCTAssertEqual(server.server.host.current?.entry.title, "tiny-b")

        let answer = try await server.call("/sdapi/v1/txt2img", json: with(small, ["sampler_name": "Euler a"]))
        let infotext = try infotexts(of: answer).first ?? ""
        XCTAssertTrue(infotext.contains("Model: tiny"), infotext)
        XCTAssertTrue(infotext.contains("Clip skip: 2"), infotext)
        XCTAssertTrue(infotext.contains("ENSD: 31337"), infotext)
        XCTAssertTrue(infotext.contains("RNG: CPU"), infotext)

        for bad in ["../tiny", "/tmp", "tiny/unet", ""] {
            let refused = try await server.call("/sdapi/v1/options", json: ["sd_model_checkpoint": bad])
            XCTAssertEqual(refused.status, 422, bad)
        }
        let awaited9 = try await server.call("/sdapi/v1/options").json["sd_model_checkpoint"] as? String
        XCTAssertEqual(awaited9, "tiny-b")
    }

    /// Posts that overlap each keep their keys: a model switch (which waits to
    /// load) and a plain setting sent while it loads.
    func testOverlappingOptionPostsBothApply() async throws {
        let server = try await TestServer(secondModel: true)
        defer { Task { await server.stop() } }
        async let switching = server.call("/sdapi/v1/options", json: ["sd_model_checkpoint": "tiny-b"])
        async let setting = server.call("/sdapi/v1/options", json: ["CLIP_stop_at_last_layers": 2])
        let (first, second) = try await (switching, setting)
        XCTAssertEqual(first.status, 200, first.text)
        XCTAssertEqual(second.status, 200, second.text)
        let options = try await server.call("/sdapi/v1/options").json
        XCTAssertEqual(options["sd_model_checkpoint"] as? String, "tiny-b")
        XCTAssertEqual(options["CLIP_stop_at_last_layers"] as? Int, 2)
    }

    /// ENSD reseeds the sampler's noise after the starting latents, so with an ancestral sampler it changes the image.
    func testNoiseSeedDeltaChangesAncestralSampling() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let body = with(small, ["sampler_name": "Euler a", "steps": 3, "width": 32, "height": 32])
        let plain = try images(of: try await server.call("/sdapi/v1/txt2img", json: body))[0]
        let delta = try images(of: try await server.call("/sdapi/v1/txt2img", json: with(body, [
            "override_settings": ["eta_noise_seed_delta": 31337]])))[0]
        let deterministic = try images(of: try await server.call("/sdapi/v1/txt2img", json: with(body, [
            "sampler_name": "Euler", "override_settings": ["eta_noise_seed_delta": 31337]])))[0]
        let deterministicPlain = try images(of: try await server.call("/sdapi/v1/txt2img", json: with(body, ["sampler_name": "Euler"])))[0]
        XCTAssertTrue(try pixels(plain) != pixels(delta), "ENSD changed nothing")
        XCTAssertTrue(try pixels(deterministic) == pixels(deterministicPlain), "Euler draws no noise after the start")
    }

    func infotexts(of answer: TestServer.Answer) throws -> [String] {
        let info = try XCTUnwrap(JSONSerialization.jsonObject(with: Data((answer.json["info"] as? String ?? "").utf8)) as? [String: Any])
        return info["infotexts"] as? [String] ?? []
    }

    func pixels(_ png: Data) throws -> [UInt8] { try ImageFile.decode([UInt8](png), name: "png").pixels }

    func testListsPNGInfoMemoryMetricsAndCORS() async throws {
        let lora = FixturePaths.url("lora")
        let loraFile = try FileManager.default.contentsOfDirectory(at: lora, includingPropertiesForKeys: nil)
            .first { $0.pathExtension == "safetensors" }
        let server = try await TestServer(configure: { $0.corsAllowOrigins = ["http://localhost:3000"] },
                                          loras: loraFile.map { ["style": $0] } ?? [:])
        defer { Task { await server.stop() } }
        let samplers = try await server.call("/sdapi/v1/samplers").array.compactMap { $0["name"] as? String }
        XCTAssertTrue(samplers.contains("Euler a") && samplers.contains("DPM++ 2M") && samplers.contains("PLMS"), "\(samplers)")
        XCTAssertFalse(samplers.contains("DPM++ 2M Karras"), "schedules are listed apart")
        let schedulers = try await server.call("/sdapi/v1/schedulers").array.compactMap { $0["label"] as? String }
        XCTAssertEqual(schedulers, ["Automatic", "Karras"])
        if loraFile != nil {
            let awaited10 = try await server.call("/sdapi/v1/loras").array.compactMap { $0["name"] as? String }
            XCTAssertEqual(awaited10, ["style"])
        }
        let awaited11 = try await server.call("/sdapi/v1/embeddings").json["loaded"] as? [String: Any]
        XCTAssertNotNil(awaited11)
        let memory = try await server.call("/sdapi/v1/memory").json
        XCTAssertGreaterThan(((memory["ram"] as? [String: Any])?["total"] as? Int) ?? 0, 0)

        let answer = try await server.call("/sdapi/v1/txt2img", json: with(small, ["negative_prompt": "fog"]))
        let info = try await server.call("/sdapi/v1/png-info", json: ["image": try XCTUnwrap((answer.json["images"] as? [String])?.first)]).json
        XCTAssertTrue((info["info"] as? String ?? "").hasPrefix("a lighthouse\nNegative prompt: fog\nSteps: 1"))
        let parsed = try XCTUnwrap(info["parameters"] as? [String: Any])
        XCTAssertEqual(parsed["Prompt"] as? String, "a lighthouse")
        XCTAssertEqual(parsed["Negative prompt"] as? String, "fog")
        XCTAssertEqual(parsed["Size-1"] as? String, "16")
        XCTAssertEqual(parsed["Seed"] as? String, "1")

        let metrics = try await server.call("/metrics").text
        XCTAssertTrue(metrics.contains("sdgen_queue_length 0"), metrics)
        XCTAssertTrue(metrics.contains("sdgen_jobs_total{kind=\"txt2img\",outcome=\"completed\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("sdgen_step_seconds_count 1"), metrics)
        XCTAssertTrue(metrics.contains("sdgen_http_responses_total{status=\"200\"}"), metrics)

        let allowed = try await server.call("/sdapi/v1/options", headers: ["Origin": "http://localhost:3000"])
        XCTAssertEqual(allowed.headers["access-control-allow-origin"], "http://localhost:3000")
        let other = try await server.call("/sdapi/v1/options", headers: ["Origin": "http://evil.example"])
        XCTAssertNil(other.headers["access-control-allow-origin"])
        // Refusals too, the framework's own included, so a page can read why.
        let missing = try await server.call("/sdapi/v1/nothing", headers: ["Origin": "http://localhost:3000"])
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.headers["access-control-allow-origin"], "http://localhost:3000")

        let page = try await server.call("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.text.contains("<script src=\"/app.js\">"))
        let history = try await server.call("/sdgen/v1/history").array
        XCTAssertEqual(history.count, 1)
        let url = try XCTUnwrap(history.first?["url"] as? String)
        let awaited12 = try await server.call(url).data
        XCTAssertEqual(awaited12, try images(of: answer)[0])
        let awaited13 = try await server.call("/sdgen/v1/images/../../etc/passwd").status
        XCTAssertEqual(awaited13, 404)
    }
}
