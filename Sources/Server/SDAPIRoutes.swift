import Foundation
import HTTPTypes
import Hummingbird
import ImageIO
import Models
import NIOCore
import Pipeline
import PromptLanguage
import TensorCore

/// AUTOMATIC1111's `/sdapi/v1` API, same paths, field names and semantics
/// (its `modules/api/api.py` and `models.py`), over the job queue and the
/// loaded model's `GenerationService`.
extension SDGenServer {
    func addAPIRoutes(to router: Router<ServerRequestContext>) {
        let api = router.group("sdapi/v1")
        api.post("txt2img") { request, context in try await self.generate(request, context: context, mode: .textToImage) }
        api.post("img2img") { request, context in try await self.generate(request, context: context, mode: .imageToImage) }
        api.get("progress") { request, _ in
            let skipImage = request.uri.queryParameters.get("skip_current_image").map { $0 == "true" || $0 == "1" } ?? false
            return Self.json(await self.progress(includingImage: !skipImage))
        }
        api.post("interrupt") { _, _ in
            await self.queue.snapshot.running?.interrupt()
            return Self.json([:])
        }
        api.post("skip") { _, _ in
            await self.queue.snapshot.running?.skip()
            return Self.json([:])
        }
        api.get("options") { _, _ in Self.json(self.options.json) }
        api.post("options") { request, _ in
            let changes = try PayloadReader(try await self.body(of: request)).object
            try await self.setOptions(changes)
            return Self.json(nil)
        }
        api.get("sd-models") { _, _ in
            Self.json(.array(self.host.catalog.entries.map { entry in
                ["title": .string(entry.title), "model_name": .string(entry.modelName), "hash": nil, "sha256": nil,
                 "filename": .string(entry.url.path), "config": nil]
            }))
        }
        api.post("refresh-checkpoints") { _, _ in
            self.host.refreshCatalog()
            return Self.json(nil)
        }
        api.get("samplers") { _, _ in
            Self.json(.array(A1111Sampler.names.map { name in
                ["name": .string(name), "aliases": .array(A1111Sampler.aliases(of: name).map(JSONValue.string)), "options": [:]]
            }))
        }
        api.get("schedulers") { _, _ in
            Self.json(.array(A1111Sampler.schedules.map { schedule in
                ["name": .string(schedule.name), "label": .string(schedule.label), "aliases": nil,
                 "default_rho": .number(schedule.rho), "need_inner_model": false]
            }))
        }
        api.get("loras") { _, _ in
            let library = self.host.current?.service.loraLibrary
            return Self.json(.array((library?.available() ?? []).map { lora in
                ["name": .string(lora.name), "alias": .string(lora.name), "path": .string(lora.url.path), "metadata": [:]]
            }))
        }
        api.get("embeddings") { _, _ in
            let embeddings = self.host.current?.service.embeddings.embeddings ?? [:]
            var loaded: [String: JSONValue] = [:]
            for (name, embedding) in embeddings {
                loaded[name] = ["step": nil, "sd_checkpoint": nil, "sd_checkpoint_name": nil,
                                "shape": JSONValue(embedding.width), "vectors": JSONValue(embedding.vectorCount)]
            }
            return Self.json(["loaded": .object(loaded), "skipped": [:]])
        }
        api.post("png-info") { request, _ in
            let reader = try PayloadReader(try await self.body(of: request))
            return Self.json(try Self.pngInfo(reader.string("image") ?? ""))
        }
        api.get("memory") { _, _ in Self.json(self.memory()) }
        // Lists A1111 clients read on connecting; sdgen has none of these.
        // A GET on a POST-only route is 405 with `Allow`, as A1111's FastAPI answers (not "no such route").
        for path in ["txt2img", "img2img", "interrupt", "skip", "refresh-checkpoints", "png-info"] {
            api.get(RouterPath(stringLiteral: path)) { request, _ -> Response in
                var error = APIError(.methodNotAllowed, "\(request.uri.path) takes POST")
                error.headers[.allow] = "POST"
                throw error
            }
        }
        for empty in ["sd-vae", "upscalers", "latent-upscale-modes", "hypernetworks", "face-restorers", "prompt-styles",
                      "realesrgan-models", "scripts"] {
            api.get(RouterPath(stringLiteral: empty)) { _, _ in Self.json(empty == "scripts" ? ["txt2img": [], "img2img": []] : []) }
        }
    }

    // MARK: - Generation

    private func generate(_ request: Request, context: ServerRequestContext,
                          mode: GenerationPayload.Mode) async throws -> Response {
        let payload = try GenerationPayload(try await body(of: request), mode: mode)
        let options: ServerOptions
        do {
            options = try self.options.applying(payload.overrides, catalog: host.catalog)
        } catch {
            throw APIError.invalid("override_settings", error.detail)
        }
        // A model whose file left the folder serves on while it stays loaded, as in A1111.
        guard let entry = host.catalog.entry(named: options.modelCheckpoint)
            ?? host.current.map(\.entry).flatMap({ $0.title == options.modelCheckpoint ? $0 : nil }) else {
            throw APIError.invalid("sd_model_checkpoint",
                                   "the model '\(options.modelCheckpoint)' is no longer in the weights folder; choose another")
        }
        let generationRequest = payload.request(options: options, randomSeed: UInt64.random(in: 0..<4_294_967_294))
        // A bad request is refused now, not after its wait in the queue (the model it runs on checks it again).
        if let current = host.current, current.entry == entry {
            _ = try Self.translating { try current.service.admit(generationRequest) }
        }

        let job = await queue.makeJob(kind: mode.rawValue)
        let queue = self.queue
        // A client gone before its answer: a waiting job leaves the queue, a running one stops at its next step.
        let watch = HangUpWatch.start(context.channel) {
            job.cancel()
            Task { await queue.drop(job) }
        }
        defer { watch.cancel() }
        let started = Date()
        let images: [GeneratedImage]
        do {
            images = try await queue.run(job) {
                let service = try await blocking { try self.host.service(for: entry) }
                var request = generationRequest
                // Progress previews through the tiny autoencoder, when one is attached.
                if service.tinyAutoencoder != nil { request.previewEvery = options.previewEverySteps }
                return try await service.generate(request, cancellation: job.cancellation,
                                                  interruption: job.interruption) { event in
                    job.record(event)
                    if case .step(let step) = event { self.metrics.step(seconds: step.seconds) }
                }
            }
        } catch {
            let outcome = (error as? JobQueue.Refusal).map { $0 == .cancelled ? "cancelled" : "refused" }
                ?? (error as? GenerationError == .cancelled ? "cancelled" : "failed")
            metrics.job(mode.rawValue, outcome: outcome, seconds: Date().timeIntervalSince(started))
            throw Self.apiError(for: error)
        }
        metrics.job(mode.rawValue, outcome: job.progress.interrupted ? "interrupted" : "completed",
                    seconds: Date().timeIntervalSince(started))

        let pngs = try Self.translating { try images.map { try $0.pngData() } }
        for (image, png) in zip(images, pngs) { history.add(png: png, infotext: image.parameters.a1111Text) }
        if payload.saveImages { try save(images, pngs: pngs) }
        let answer = GenerationAnswer(payload: payload, images: images, pngs: pngs, modelName: entry.modelName,
                                      request: generationRequest)
        return Self.json(answer.json)
    }

    /// `save_images: true`: into the outputs folder, named as the CLI names its files, never overwriting.
    private func save(_ images: [GeneratedImage], pngs: [[UInt8]]) throws {
        do {
            let destinations = try OutputPlan.destinations(for: images.map { ($0.parameters.prompt, $0.seed) },
                                                           explicit: nil, overwrite: false,
                                                           folder: configuration.outputsFolder)
            for (png, destination) in zip(pngs, destinations) { try PNGFile.write(png, to: destination, overwrite: false) }
        } catch {
            throw APIError(.internalServerError, "save_images: \(error)", field: "save_images")
        }
    }

    // MARK: - Options

    /// Checked first (a bad key is a 422 before anything loads), the model
    /// loaded in its turn if it changes, then the changes merged into the
    /// options as they are by then (`updateOptions`), so overlapping posts lose nothing.
    private func setOptions(_ changes: [String: JSONValue]) async throws {
        let next = try options.applying(changes, catalog: host.catalog)
        if next.modelCheckpoint != options.modelCheckpoint, let entry = host.catalog.entry(named: next.modelCheckpoint) {
            // Loading waits its turn: no generation runs on a model half replaced.
            let job = await queue.makeJob(kind: "load model")
            do {
                try await queue.run(job) { _ = try await blocking { try self.host.service(for: entry) } }
            } catch {
                throw Self.apiError(for: error)
            }
        }
        try updateOptions(changes)
    }

    // MARK: - Progress

    /// A1111's `ProgressResponse`: done fraction, estimated seconds left, the
    /// job counters, and the image so far as a base64 PNG (the tiny
    /// autoencoder's preview when one is attached, else A1111's cheap approximation).
    func progress(includingImage: Bool) async -> JSONValue {
        let (running, waiting) = await queue.snapshot
        let state = running?.progress
        let fraction = state?.fraction ?? 0
        let etaRelative = state?.secondsLeft ?? 0
        var image: JSONValue = nil
        if includingImage, let state {
            let preview = state.preview ?? state.latents.flatMap { LatentPreview.cheapApproximation($0.values, shape: $0.shape) }
            if let preview, let png = try? PNGFile.encode(preview) { image = .string(Base64Image.encode(png)) }
        }
        return [
            "progress": .number(fraction),
            "eta_relative": .number(etaRelative),
            "state": [
                "skipped": JSONValue(state?.skipped ?? false),
                "interrupted": JSONValue(state?.interrupted ?? false),
                "stopping_generation": false,
                "job": .string(running?.kind ?? ""),
                "job_count": JSONValue(running == nil ? 0 : (state?.imageCount ?? 1)),
                "job_timestamp": .string(state?.started.map { GenerationAnswer.timestamp($0) } ?? "0"),
                "job_no": JSONValue(state?.image ?? 0),
                "sampling_step": JSONValue(state?.step ?? 0),
                "sampling_steps": JSONValue(state?.steps ?? 0),
                "queued": JSONValue(waiting.count),
            ],
            "current_image": image,
            "textinfo": nil,
            "current_task": running.map { .string("task(\($0.id))") } ?? nil,
        ]
    }

    // MARK: - PNG info and memory

    /// A1111's `png-info`: the `parameters` text, the other text chunks, and the text parsed into fields.
    static func pngInfo(_ base64: String) throws -> JSONValue {
        guard !base64.isEmpty else { throw APIError.invalid("image", "give a base64-encoded PNG") }
        let bytes = try Base64Image.bytes(base64, field: "image")
        let chunks: [String: String]
        do {
            chunks = try PNGFile.textChunks(of: bytes, name: "image")
        } catch {
            throw APIError.invalid("image", "\(error)")
        }
        let text = chunks[PNGFile.parametersKey] ?? ""
        var items = chunks.mapValues(JSONValue.string)
        items[PNGFile.parametersKey] = nil
        var parsed: [String: JSONValue] = [:]
        if let parameters = try? GenerationParameters(a1111Text: text) {
            parsed["Prompt"] = .string(parameters.prompt)
            parsed["Negative prompt"] = .string(parameters.negativePrompt)
            for field in parameters.fields {
                if field.key == "Size" {
                    let sides = field.value.split(separator: "x")
                    parsed["Size-1"] = .string(String(sides.first ?? ""))
                    parsed["Size-2"] = .string(String(sides.last ?? ""))
                } else {
                    parsed[field.key] = .string(field.value)
                }
            }
        }
        return ["info": .string(text), "items": .object(items), "parameters": .object(parsed)]
    }

    /// A1111's `memory`: the machine's RAM (free = available, used = this process's
    /// resident size) and, on a GPU, the device's memory instead of CUDA's.
    func memory() -> JSONValue {
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int? {
            meminfo.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { $0.split(separator: " ").compactMap { Int($0) }.first }.map { $0 * 1024 }
        }
        let total = field("MemTotal") ?? 0
        let used = ProcessMemory.residentBytes ?? 0
        var answer: [String: JSONValue] = [
            "ram": ["free": JSONValue(field("MemAvailable") ?? 0), "used": JSONValue(used), "total": JSONValue(total),
                    "peak": JSONValue(ProcessMemory.peakResidentBytes ?? 0)],
        ]
        if let device = host.current?.service.model.backend.deviceMemory {
            answer["cuda"] = ["system": ["free": JSONValue(device.capacityBytes - device.allocatedBytes),
                                         "used": JSONValue(device.allocatedBytes), "total": JSONValue(device.capacityBytes)],
                              "active": ["current": JSONValue(device.allocatedBytes), "peak": JSONValue(device.peakBytes)]]
        } else {
            answer["cuda"] = ["error": "no GPU: this server runs on the CPU"]
        }
        return .object(answer)
    }

    // MARK: - Helpers

    /// The body, at most `--max-body` bytes (413 beyond), as JSON (422 when it is not).
    func body(of request: Request) async throws -> JSONValue {
        // A body of another type is what any web page can send cross-site
        // without a CORS preflight (a form, fetch with text/plain): refused,
        // as FastAPI under A1111 refuses it. No type at all is read as JSON.
        if let type = request.headers[.contentType], !Self.isJSON(mediaType: type) {
            throw APIError(.unsupportedMediaType, "the body must be JSON (Content-Type: application/json), not '\(type)'",
                           field: "body")
        }
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, "the body is \(length) bytes, more than the server's limit of \(limit)")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "the body is more than the server's limit of \(limit) bytes")
        }
        guard let value = JSONValue.parse(buffer.readableBytesView) else {
            throw APIError(.unprocessableContent, "the body is not valid JSON", field: "body")
        }
        return value
    }

    /// application/json or a `+json` type, any parameters (charset) aside.
    static func isJSON(mediaType: String) -> Bool {
        let type = (mediaType.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        return type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: value.text)))
    }

    /// Service errors as answers: what the request got wrong is a 422 naming its field.
    static func translating<T>(_ work: () throws -> T) throws -> T {
        do { return try work() } catch { throw apiError(for: error) }
    }

    static func apiError(for error: any Error) -> any Error {
        switch error {
        case let error as APIError:
            return error
        case let refusal as JobQueue.Refusal:
            switch refusal {
            case let .full(limit, secondsLeft):
                var refusal = APIError(.serviceUnavailable, "the queue is full (\(limit) jobs waiting); try again later")
                // A place frees when the running job ends: when, at its pace so far.
                if let secondsLeft { refusal.headers[.retryAfter] = String(max(1, Int(secondsLeft.rounded(.up)))) }
                return refusal
            case .shuttingDown: return APIError(.serviceUnavailable, "the server is shutting down")
            case .cancelled: return APIError(.serviceUnavailable, "the request was cancelled")
            }
        case let error as GenerationError:
            switch error {
            case let .invalid(parameter, requirement):
                return APIError.invalid(GenerationPayload.field(for: parameter), requirement)
            case .exceedsMemory, .exceedsDeviceMemory, .exceedsDeviceBinding:
                return APIError.invalid("width", error.description)
            case .badPrompt(let message):
                return APIError(.unprocessableContent, message, field: "prompt")  // the message names the prompt
            case .nonFinite:
                return APIError(.unprocessableContent, error.description)
            case .cancelled:
                return APIError(.serviceUnavailable, "the request was cancelled")
            }
        case let error as LoRALibraryError:
            return APIError.invalid("prompt", error.description)
        case let error as LoRAError:
            return APIError.invalid("prompt", "\(error)")
        case let error as PromptSyntaxError:
            return APIError(.unprocessableContent, error.description, field: "prompt")  // names the prompt it is about
        case let error as ModelHost.LoadFailure:
            return APIError.invalid("sd_model_checkpoint", error.description)
        default:
            return APIError(.internalServerError, "\(error)")
        }
    }
}
