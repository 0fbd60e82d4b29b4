import Foundation
import ImageIO
import Models
import PromptLanguage
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
    /// Textual-inversion embeddings prompts may name.
    public let embeddings: TextualInversionLibrary
    /// The LoRA files requests may name.
    public let loraLibrary: LoRALibrary
    public let admission: MemoryAdmission
    /// Serialises generations: one runs at a time on this model.
    private let running = NSLock()
    private let state = NSLock()
    private var loaded: ModelBundle

    /// The model as loaded now (with the LoRAs of the last request that ran).
    public var model: ModelBundle { state.withLock { loaded } }
    private var tiny: TinyAutoencoderDecoder?

    /// The tiny autoencoder (TAESD) requests may decode with or preview
    /// through, if one was attached.
    public var tinyAutoencoder: TinyAutoencoderDecoder? { state.withLock { tiny } }

    /// Attaches a tiny autoencoder; it must decode this model's latents
    /// (their channels and scale: TAESD for SD 1.x/2.x, TAESDXL for SDXL).
    public func attach(tinyAutoencoder decoder: TinyAutoencoderDecoder) throws {
        let c = decoder.configuration, model = self.model
        guard c.latentChannels == model.latentChannels, c.scaleFactor == model.vaeScaleFactor else {
            throw ModelLoadError.invalidConfiguration(
                "the tiny autoencoder decodes \(c.latentChannels)-channel latents at ×\(c.scaleFactor); "
                + "\(model.name)'s are \(model.latentChannels)-channel at ×\(model.vaeScaleFactor)")
        }
        state.withLock { tiny = decoder }
    }

    /// Loads a diffusers AutoencoderTiny folder (`madebyollin/taesd`) onto
    /// the model's backend and attaches it.
    public func attachTinyAutoencoder(folder: URL) throws {
        try attach(tinyAutoencoder: TinyAutoencoderDecoder(folder: folder, backend: model.backend))
    }

    public init(model: ModelBundle, embeddings: TextualInversionLibrary = .empty, loraLibrary: LoRALibrary = LoRALibrary(),
                admission: MemoryAdmission = MemoryAdmission()) {
        loaded = model
        self.embeddings = embeddings
        self.loraLibrary = loraLibrary
        self.admission = admission
    }

    /// The prompt-encoding stage a request asks for, on `model`.
    func promptEncoder(for request: GenerationRequest, model: ModelBundle) -> any PromptEncoding {
        switch request.promptSyntax {
        case .a1111: A1111PromptEncoder(encoders: model.textEncoders, emphasis: request.emphasis, embeddings: embeddings)
        case .diffusers: CLIPPromptEncoder(encoders: model.textEncoders)
        }
    }

    /// Loads the model from `source` on `backend`, with `loras` merged (say,
    /// the first request's, so that it need not load twice).
    /// - Parameter strictLoRA: a LoRA module that matches nothing is an error, not a warning.
    public convenience init(loading source: ModelSource, configurationFolder: URL? = nil,
                            backend: any Backend, embeddings: TextualInversionLibrary = .empty,
                            loraLibrary: LoRALibrary = LoRALibrary(), loras: [LoRASelection] = [],
                            strictLoRA: Bool = false, admission: MemoryAdmission = MemoryAdmission()) throws {
        let model = try ModelBundle.load(source, configurationFolder: configurationFolder, backend: backend,
                                         loras: try loraLibrary.resolve(loras), strictLoRA: strictLoRA)
        self.init(model: model, embeddings: embeddings, loraLibrary: loraLibrary, admission: admission)
    }

    /// The model with the request's LoRAs merged: the loaded one when they
    /// are the same, else the model loaded again with them (the previous
    /// weights go once the new ones are in place).
    private func model(for generation: ResolvedGeneration) throws -> ModelBundle {
        let current = model
        let loras = try loraLibrary.resolve(generation.loras)
        if current.hasLoRAs(loras) { return current }
        let next = try current.reloaded(with: loras)
        state.withLock { loaded = next }
        return next
    }

    /// The request with the model's defaults filled in, or the first rule it breaks.
    public func resolve(_ request: GenerationRequest) throws(GenerationError) -> ResolvedGeneration {
        try ResolvedGeneration(request, for: model)
    }

    /// Resolves the request and checks that it fits in memory: what `generate`
    /// does first, for callers that check a batch of requests before running any.
    @discardableResult
    public func admit(_ request: GenerationRequest) throws -> ResolvedGeneration {
        try admitted(request).generation
    }

    /// The request resolved and admitted, and its UNet step's working set.
    private func admitted(_ request: GenerationRequest) throws -> (generation: ResolvedGeneration, unetWorkingSet: Int) {
        let generation = try resolve(request)
        // Every LoRA file is found, parsed and hashed now, not after minutes of work.
        _ = try loraLibrary.resolve(generation.loras)
        return (generation, try admission.admit(generation, on: model))
    }

    /// Makes the request's images, reporting each step; checks `cancellation`
    /// before every step. Waits while another generation runs on this model.
    /// An error thrown by `events` (say, writing the finished image failed) ends the run with that error.
    @discardableResult
    /// `interruption` ends sampling early but keeps the image (A1111's interrupt and skip).
    public func generate(_ request: GenerationRequest, cancellation: CancellationToken = CancellationToken(),
                         interruption: SamplingInterruption = SamplingInterruption(),
                         events: (GenerationEvent) throws -> Void = { _ in }) throws -> [GeneratedImage] {
        let (generation, unetWorkingSet) = try admitted(request)
        return try running.withLock {
            let model = try model(for: generation)
            model.backend.retainBuffers(forWorkingSet: unetWorkingSet)
            let conditioning = PromptConditioning(generation, encoder: promptEncoder(for: request, model: model),
                                                  forcesZerosForEmptyPrompt: model.checkpoint.forcesZerosForEmptyPrompt)
            let initImage = InitImage(generation)
            var images: [GeneratedImage] = []
            for index in 0..<request.count where !interruption.isInterrupted {
                try cancellation.check()
                let image = try makeImage(index, of: generation, on: model, conditioning: conditioning,
                                          initImage: initImage, cancellation: cancellation,
                                          interruption: interruption, events: events)
                try events(.finished(image))
                images.append(image)
            }
            return images
        }
    }

    /// `generate` for async callers: runs on its own thread (the model's
    /// kernels block), and cancelling the task cancels the generation (as `cancellation` does).
    @discardableResult
    public func generate(_ request: GenerationRequest, cancellation: CancellationToken = CancellationToken(),
                         interruption: SamplingInterruption = SamplingInterruption(),
                         events: @escaping @Sendable (GenerationEvent) throws -> Void = { _ in }) async throws -> [GeneratedImage] {
        try await withTaskCancellationHandler {
            try await blocking { [self] in
                try generate(request, cancellation: cancellation, interruption: interruption, events: events)
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// Noise for text-to-image; the init image's latents for image-to-image; with a mask, inpainting.
    private func startingLatents(for generation: ResolvedGeneration, initImage: InitImage?,
                                 on model: ModelBundle) throws -> any StartingLatents {
        guard let initImage else { return NoiseLatents() }
        let encoder = ImageLatentEncoder(encoder: try model.vaeEncoder(), scalingFactor: model.vaeConfiguration.scalingFactor,
                                         fullPrecision: model.vaeNeedsFullPrecision)
        guard let mask = initImage.mask else {
            return ImageToImageLatents(encoder: encoder, image: initImage.image, strength: generation.strength,
                                       steps: generation.request.steps)
        }
        return InpaintingLatents(encoder: encoder, image: initImage.image, mask: mask, strength: generation.strength,
                                 steps: generation.request.steps, conditionsOnMask: model.checkpoint.isInpainting)
    }

    private func makeImage(_ index: Int, of generation: ResolvedGeneration, on model: ModelBundle,
                           conditioning prompts: PromptConditioning, initImage: InitImage?,
                           cancellation: CancellationToken, interruption: SamplingInterruption,
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
        var scheduler = try generation.scheduler.make(configuration: generation.schedulerConfiguration, steps: request.steps)
        var random = request.rng.makeSource(seed: seed)
        let start = try startingLatents(for: generation, initImage: initImage, on: model)
            .start(generation.latentShape, scheduler: scheduler, random: &random)
        // A1111's eta noise seed delta: the sampler's later noise from a generator seeded seed + delta.
        if request.noiseSeedDelta != 0 { random = request.rng.makeSource(seed: seed &+ request.noiseSeedDelta) }

        // Previews and the tiny decoder need the tiny autoencoder attached.
        let tinyDecoder = tinyAutoencoder.map(LatentDecoder.init(tiny:))
        func requireTiny(_ parameter: GenerationParameter) throws -> LatentDecoder {
            guard let tinyDecoder else {
                throw GenerationError.invalid(parameter, requirement: "needs the tiny autoencoder (TAESD), which is not loaded")
            }
            return tinyDecoder
        }
        let finalDecoder = request.decoder == .tiny ? try requireTiny(.decoder)
            : LatentDecoder(vae: model.vaeDecoder, configuration: model.vaeConfiguration,
                            fullPrecision: model.vaeNeedsFullPrecision)
        let previewDecoder = request.previewEvery > 0 ? try requireTiny(.previewEvery) : nil
        func rgb(_ output: [Float]) throws -> RGBImage {
            try RGBImage(vaeOutput: output, width: generation.width, height: generation.height, layout: .nhwc)
        }

        // 3. Denoising.
        let loop = DenoisingLoop(unet: model.unet, shape: generation.latentShape, guidance: generation.guidance,
                                 guidanceRescale: request.guidanceRescale, sizeConditioning: generation.sizeConditioning)
        try cancellation.check()
        // Once cancelled, the CPU abandons the step under way (its latents are
        // then meaningless: checked first thing after every step).
        let latents = try ComputeCancellation.$current.withValue(cancellation.compute) {
            try loop.run(from: start, scheduler: &scheduler, conditioning: prompts.callAsFunction(atEvaluation:),
                         random: &random, interruption: interruption) { step, steps, seconds, latents in
                try cancellation.check()
                timings.unetSeconds.append(seconds)
                try events(.step(.init(image: index, step: step + 1, steps: steps, seconds: seconds,
                                       elapsed: total.seconds, latents: latents, shape: generation.latentShape)))
                if let previewDecoder, (step + 1) % request.previewEvery == 0, step + 1 < steps {
                    let preview = previewDecoder.decode(latents, shape: generation.latentShape, on: model.backend)
                    try events(.preview(image: index, step: step + 1, try rgb(preview)))
                }
            }
        }

        try cancellation.check()  // a cancel during a step ends the loop as an interrupt would
        guard latents.allSatisfy(\.isFinite) else { throw GenerationError.nonFinite(stage: "the UNet") }

        // 4. Decoding.
        try events(.decoding(image: index))
        model.checkpoint.releaseResidentPages()
        let vaeWatch = Stopwatch()
        let vaeOutput = ComputeCancellation.$current.withValue(cancellation.compute) {
            finalDecoder.decode(latents, shape: generation.latentShape, on: model.backend, tiling: generation.decoderTiling)
        }
        try cancellation.check()  // before its values are read: a cancelled decode's are meaningless
        guard vaeOutput.allSatisfy(\.isFinite) else { throw GenerationError.nonFinite(stage: "the VAE decoder") }
        timings.vaeDecodeSeconds = vaeWatch.seconds
        timings.totalSeconds = total.seconds

        let truncated = conditioning.truncatedTokens
        func finish(_ image: RGBImage) -> RGBImage { initImage?.finish(image) ?? image }
        return GeneratedImage(
            index: index, seed: seed,
            image: finish(try rgb(vaeOutput)),
            vaeOutput: vaeOutput,
            parameters: ImageMetadata.parameters(for: generation, seed: seed, model: model),
            timings: timings,
            truncatedTokens: (prompt: truncated.last ?? 0, negative: generation.isGuided ? truncated[0] : 0),
            warnings: (index == 0 ? model.warnings + generation.warnings : []) + conditioning.warnings)
    }
}
