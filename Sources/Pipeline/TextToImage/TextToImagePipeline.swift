import Foundation
import Models
import Schedulers
import TensorCore
import Tokenizers

/// Stable Diffusion text-to-image, step for step as diffusers'
/// StableDiffusionPipeline: prompt and negative prompt encoded as one batch,
/// latents drawn from a torch-compatible generator, the UNet on both halves
/// per step, classifier-free guidance, the scheduler step on the host, and
/// the VAE decode of latents / scaling factor.
public final class TextToImagePipeline: @unchecked Sendable {
    public let checkpoint: StableDiffusionCheckpoint
    public let tokenizer: CLIPTokenizer
    public let schedulerConfiguration: SchedulerConfiguration
    public let backend: any Backend

    /// Called after each model evaluation with (done, total, seconds of that
    /// evaluation); returning false cancels the generation.
    public typealias Progress = (Int, Int, Double) -> Bool

    /// - Parameter schedulerConfiguration: defaults to the checkpoint's
    ///   scheduler_config.json, else SD 1.5's.
    public init(checkpoint: StableDiffusionCheckpoint, tokenizer: CLIPTokenizer,
                schedulerConfiguration: SchedulerConfiguration? = nil) throws {
        self.checkpoint = checkpoint
        self.tokenizer = tokenizer
        backend = checkpoint.unet.convIn.weight.backend
        self.schedulerConfiguration = try schedulerConfiguration
            ?? checkpoint.schedulerConfiguration.map { try SchedulerConfiguration.load(from: $0) }
            ?? SchedulerConfiguration()
    }

    /// Latent channels × (height / f) × (width / f), with f the VAE's factor.
    public var vaeScaleFactor: Int { 1 << (checkpoint.vaeConfiguration.blockOutChannels.count - 1) }

    public func validate(_ request: GenerationRequest) throws {
        let f = vaeScaleFactor
        guard request.width > 0, request.height > 0, request.width % f == 0, request.height % f == 0 else {
            throw GenerationError.badSize(width: request.width, height: request.height, multiple: f)
        }
        guard request.steps > 0 else { throw GenerationError.badSteps(request.steps) }
        guard request.clipSkip >= 0, request.clipSkip < checkpoint.textEncoder.layers.count else {
            throw GenerationError.badClipSkip(request.clipSkip, layers: checkpoint.textEncoder.layers.count)
        }
    }

    public func generate(_ request: GenerationRequest, progress: Progress = { _, _, _ in true }) throws -> GenerationResult {
        try validate(request)
        let total = Stopwatch()
        var timings = GenerationTimings()

        // 1. Tokenise: the negative prompt ("" when none) first, as diffusers batches [uncond, cond].
        let tokenizeWatch = Stopwatch()
        let length = checkpoint.textEncoder.configuration.maxPositionEmbeddings
        let prompt = tokenizer.encode(request.prompt, maxLength: length)
        let negative = tokenizer.encode(request.negativePrompt, maxLength: length)
        timings.tokenizeMilliseconds = tokenizeWatch.milliseconds

        // 2. Text encoder.
        let guided = request.usesClassifierFreeGuidance
        let textWatch = Stopwatch()
        let context = checkpoint.textEncoder(guided ? [negative.ids, prompt.ids] : [prompt.ids], skip: request.clipSkip)
        backend.synchronize()
        timings.textEncoderMilliseconds = textWatch.milliseconds
        // Each stage needs only its own model: the others' mapped weights
        // need not stay resident (they return from the page cache).
        checkpoint.releaseResidentPages()

        // 3. Initial latents, drawn in NCHW order like torch.randn.
        var scheduler = try makeScheduler(request.scheduler, configuration: schedulerConfiguration, steps: request.steps)
        let channels = checkpoint.unet.configuration.inChannels
        let (h, w) = (request.height / vaeScaleFactor, request.width / vaeScaleFactor)
        var random = request.rng.makeSource(seed: request.seed)
        var latents = random.normal(count: channels * h * w).map { $0 * scheduler.initNoiseSigma }

        // 4. Denoising loop, one model evaluation per scheduler timestep.
        let evaluations = scheduler.timesteps.count
        for i in scheduler.timesteps.indices {
            let stepWatch = Stopwatch()
            let input = scheduler.scaleModelInput(latents, step: i)
            let batch = guided ? 2 : 1
            let sample = backend.upload(Array(repeating: input, count: batch).flatMap { $0 }, shape: [batch, channels, h, w])
                .permuted([0, 2, 3, 1])
            let prediction = checkpoint.unet(sample, timestep: scheduler.timesteps[i], context: context)
                .permuted([0, 3, 1, 2]).toArray()
            let count = channels * h * w
            var output: [Float]
            if guided {
                output = [Float](repeating: 0, count: count)
                let g = request.guidance
                for j in 0..<count {
                    let uncond = prediction[j], cond = prediction[count + j]
                    output[j] = uncond + g * (cond - uncond)
                }
            } else {
                output = prediction
            }
            latents = scheduler.step(modelOutput: output, step: i, sample: latents, randomSource: &random)
            timings.unetSeconds.append(stepWatch.seconds)
            guard progress(i + 1, evaluations, timings.unetSeconds[i]) else { throw GenerationError.cancelled }
        }

        // 5. VAE decode to pixels in [0, 1].
        checkpoint.releaseResidentPages()
        let vaeWatch = Stopwatch()
        let scaled = latents.map { $0 / checkpoint.vaeConfiguration.scalingFactor }
        let decoded = checkpoint.vaeDecoder(backend.upload(scaled, shape: [1, channels, h, w]).permuted([0, 2, 3, 1]))
        let vaeOutput = decoded.toArray()
        timings.vaeDecodeSeconds = vaeWatch.seconds
        timings.totalSeconds = total.seconds

        let warnings = [tokenizer.truncationWarning(for: prompt),
                        tokenizer.truncationWarning(for: negative, label: "the negative prompt")].compactMap { $0 }
        return GenerationResult(request: request, vaeOutput: vaeOutput, timings: timings,
                                truncatedTokens: (prompt.truncatedCount, negative.truncatedCount), warnings: warnings)
    }
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case badSize(width: Int, height: Int, multiple: Int)
    case badSteps(Int)
    case badClipSkip(Int, layers: Int)
    case cancelled

    public var description: String {
        switch self {
        case let .badSize(width, height, multiple):
            "size \(width)×\(height) is not positive multiples of \(multiple) (try \(max(multiple, width / multiple * multiple))×\(max(multiple, height / multiple * multiple)))"
        case let .badSteps(steps):
            "--steps must be at least 1 (got \(steps))"
        case let .badClipSkip(skip, layers):
            "--clip-skip must be between 0 and \(layers - 1) (got \(skip))"
        case .cancelled:
            "cancelled"
        }
    }
}
