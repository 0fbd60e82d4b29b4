import Foundation
import ImageIO
import Models
import Schedulers
import TensorCore

/// The application layer: one loaded model and everything around a
/// generation — defaults and validation (`ResolvedGeneration`), memory
/// admission, the stages (prompt encoding → starting latents → denoising
/// loop → decoding), image metadata, progress events and cancellation. The
/// CLI and the server only turn their input into a `GenerationRequest` and
/// present what comes back.
///
/// Generations on one service run one after the other (a model's weights
/// and the backend's buffers are shared), from any number of threads or tasks.
public final class GenerationService: @unchecked Sendable {
    public let model: ModelBundle
    /// Textual-inversion embeddings prompts may name.
    public let embeddings: TextualInversionLibrary
    public let admission: MemoryAdmission
    /// Serialises generations: one runs at a time on this model.
    private let running = NSLock()

    public init(model: ModelBundle, embeddings: TextualInversionLibrary = .empty,
                admission: MemoryAdmission = MemoryAdmission()) {
        self.model = model
        self.embeddings = embeddings
        self.admission = admission
    }

    /// The prompt-encoding stage a request asks for.
    public func promptEncoder(for request: GenerationRequest) -> any PromptEncoding {
        switch request.promptSyntax {
        case .a1111: A1111PromptEncoder(encoders: model.textEncoders, emphasis: request.emphasis, embeddings: embeddings)
        case .diffusers: CLIPPromptEncoder(encoders: model.textEncoders)
        }
    }

    /// Loads the model from `source` on `backend`.
    public convenience init(loading source: ModelSource, configurationFolder: URL? = nil,
                            backend: any Backend, embeddings: TextualInversionLibrary = .empty,
                            admission: MemoryAdmission = MemoryAdmission()) throws {
        self.init(model: try ModelBundle.load(source, configurationFolder: configurationFolder, backend: backend),
                  embeddings: embeddings, admission: admission)
    }

    /// The request with the model's defaults filled in, or the first rule it breaks.
    public func resolve(_ request: GenerationRequest) throws(GenerationError) -> ResolvedGeneration {
        try ResolvedGeneration(request, for: model)
    }

    /// Resolves the request and checks that it fits in memory: what `generate`
    /// does first, for callers that check a batch of requests before running any.
    @discardableResult
    public func admit(_ request: GenerationRequest) throws -> ResolvedGeneration {
        let generation = try resolve(request)
        try admission.admit(generation, on: model)
        return generation
    }

    /// Makes the request's images, reporting each step; checks `cancellation`
    /// before every step. Waits while another generation runs on this model.
    /// An error thrown by `events` (say, writing the finished image failed) ends the run with that error.
    @discardableResult
    public func generate(_ request: GenerationRequest, cancellation: CancellationToken = CancellationToken(),
                         events: (GenerationEvent) throws -> Void = { _ in }) throws -> [GeneratedImage] {
        let generation = try admit(request)
        return try running.withLock {
            let conditioning = PromptConditioning(generation, encoder: promptEncoder(for: request))
            return try (0..<request.count).map { index in
                try cancellation.check()
                let image = try makeImage(index, of: generation, conditioning: conditioning, cancellation: cancellation,
                                          events: events)
                try events(.finished(image))
                return image
            }
        }
    }

    /// `generate` for async callers: runs on its own thread (the model's
    /// kernels block), and cancelling the task cancels the generation.
    @discardableResult
    public func generate(_ request: GenerationRequest,
                         events: @escaping @Sendable (GenerationEvent) throws -> Void = { _ in }) async throws -> [GeneratedImage] {
        let cancellation = CancellationToken()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread { [self] in
                    continuation.resume(with: Result {
                        try generate(request, cancellation: cancellation, events: events)
                    })
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    private func makeImage(_ index: Int, of generation: ResolvedGeneration, conditioning prompts: PromptConditioning,
                           cancellation: CancellationToken,
                           events: (GenerationEvent) throws -> Void) throws -> GeneratedImage {
        let request = generation.request
        let seed = generation.seed(ofImage: index)
        try events(.started(image: index, of: request.count, seed: seed))
        let total = Stopwatch()
        var timings = GenerationTimings()
        let backend = model.backend

        // 1. Prompt encoding (cached across the request's images).
        let textWatch = Stopwatch()
        let cached = prompts.isEncoded(atEvaluation: 0)
        let conditioning = try prompts(atEvaluation: 0)
        backend.synchronize()
        timings.tokenizeMilliseconds = cached ? 0 : conditioning.tokenizeMilliseconds
        timings.textEncoderMilliseconds = textWatch.milliseconds - timings.tokenizeMilliseconds
        // Each stage needs only its own model: the others' mapped weights
        // need not stay resident (they return from the page cache).
        model.checkpoint.releaseResidentPages()

        // 2. Starting latents, from the generator the whole run shares.
        var scheduler = try generation.scheduler.make(configuration: model.schedulerConfiguration, steps: request.steps)
        var random = request.rng.makeSource(seed: seed)
        let start = try NoiseLatents().start(generation.latentShape, scheduler: scheduler, random: &random)

        // 3. Denoising.
        let loop = DenoisingLoop(unet: model.unet, shape: generation.latentShape, guidance: request.guidance)
        try cancellation.check()
        let latents = try loop.run(from: start, scheduler: &scheduler, conditioning: prompts.callAsFunction(atEvaluation:),
                                   random: &random) {
            step, steps, seconds, latents in
            timings.unetSeconds.append(seconds)
            try events(.step(.init(image: index, step: step + 1, steps: steps, seconds: seconds, elapsed: total.seconds,
                               latents: latents, shape: generation.latentShape)))
            try cancellation.check()
        }

        // 4. Decoding.
        try events(.decoding(image: index))
        model.checkpoint.releaseResidentPages()
        let vaeWatch = Stopwatch()
        let decoder = LatentDecoder(decoder: model.vaeDecoder, scalingFactor: model.vaeConfiguration.scalingFactor)
        let vaeOutput = decoder.decode(latents, shape: generation.latentShape)
        timings.vaeDecodeSeconds = vaeWatch.seconds
        timings.totalSeconds = total.seconds

        let truncated = conditioning.truncatedTokens
        return GeneratedImage(
            index: index, seed: seed,
            image: try RGBImage(vaeOutput: vaeOutput, width: generation.width, height: generation.height, layout: .nhwc),
            vaeOutput: vaeOutput,
            parameters: ImageMetadata.parameters(for: generation, seed: seed, model: model),
            timings: timings,
            truncatedTokens: (prompt: truncated.last ?? 0, negative: generation.isGuided ? truncated[0] : 0),
            warnings: conditioning.warnings)
    }
}
