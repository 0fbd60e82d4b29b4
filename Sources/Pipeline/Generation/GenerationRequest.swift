import ImageIO
import PromptLanguage
import Schedulers

/// The defaults of a generation, declared once: the CLI's help, the server
/// and the service read them here. Size, sampler and guidance default to the
/// model's (`ModelBundle.defaultImageSize`, `defaultScheduler`, `defaultGuidance`).
public enum GenerationDefaults {
    /// diffusers' StableDiffusionPipeline: 50 steps at guidance 7.5.
    public static let steps = 50
    public static let guidance: Float = 7.5
    /// diffusers' StableDiffusionXLPipeline's guidance.
    public static let guidanceXL: Float = 5
    public static let rng = RandomSourceKind.torch
    public static let clipSkip = 0
    public static let count = 1
    /// A1111's prompt language, with its default emphasis.
    public static let promptSyntax = PromptSyntax.a1111
    public static let emphasis = Emphasis.original
    /// diffusers and A1111 require sizes in multiples of 8 (on top of the VAE's factor).
    public static let sizeMultiple = 8
    /// Image-to-image: how much of the image is repainted (diffusers' and A1111's 0.75);
    /// outpainting repaints its new border whole.
    public static let strength = 0.75
    public static let outpaintStrength = 1.0
    /// A1111's slider ends at 64.
    public static let maximumMaskBlur = 64
    /// "Only masked" inpainting's padding around the mask: A1111's UI default
    /// (its API's is 0, which the server keeps).
    public static let maskedPadding = 32
    /// The longest side accepted at all (memory admission refuses far less
    /// on real machines; this keeps every size computation in range).
    public static let maximumSide = 1 << 20
    /// The most images per prompt: every image's seed and file name is
    /// planned before the first starts.
    public static let maximumCount = 10_000
    /// The largest outpainting canvas (16384² pixels): it is built before
    /// the memory admission can weigh the request.
    public static let maximumCanvasPixels = 1 << 28
    public static let vaeTiling = VAETiling.auto
}

/// What a user asks for: one prompt, made `count` times with seeds `seed`,
/// `seed + 1`, …. Unset fields take `GenerationDefaults` or the model's own
/// defaults; the service validates the whole request against the model
/// before any work starts (`GenerationService.resolve`).
public struct GenerationRequest: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String = ""
    public var steps: Int = GenerationDefaults.steps
    /// Classifier-free guidance scale; nil: the model's (`ModelBundle.defaultGuidance`).
    public var guidance: Float?
    /// diffusers' `guidance_rescale` φ (A1111's CFG Rescale extension): the guided prediction's
    /// spread pulled back towards the conditional one's, for zero-SNR v-models; 0 is off.
    public var guidanceRescale: Float = 0
    public var seed: UInt64
    /// nil: the model's default size.
    public var width: Int?
    public var height: Int?
    /// nil: the sampler the model's scheduler config names.
    public var scheduler: SchedulerKind?
    /// How the sampler picks its timesteps; nil: the model's scheduler config (diffusers' `timestep_spacing`).
    public var timestepSpacing: SchedulerConfiguration.TimestepSpacing?
    /// What the UNet predicts; nil: the model's scheduler config. Weights run with the
    /// wrong one give a wrong image that nothing can detect, so a config without it needs this.
    public var predictionType: SchedulerConfiguration.PredictionType?
    /// η of the samplers that take one (DDIM's noise share, TCD's γ); nil: the sampler's default.
    public var eta: Double?
    /// SDXL's size conditioning; nil: the output size (diffusers' defaults). Other models refuse them.
    public var originalSize: PixelSize?
    public var cropTopLeft: PixelPoint?
    public var targetSize: PixelSize?
    public var rng: RandomSourceKind = GenerationDefaults.rng
    /// A1111's eta noise seed delta (ENSD): after the starting noise, the
    /// sampler's own noise (ancestral samplers) comes from a generator seeded
    /// `seed + noiseSeedDelta`; 0 keeps drawing from the seed's generator, as diffusers does.
    public var noiseSeedDelta: UInt64 = 0
    /// Text encoder layers left out from the end (diffusers' clip_skip; A1111's "Clip skip" minus 1).
    public var clipSkip: Int = GenerationDefaults.clipSkip
    /// Images made, seeds `seed`, `seed + 1`, … (A1111's batch count).
    public var count: Int = GenerationDefaults.count
    /// How the prompts are read: A1111's language, or diffusers' literal text.
    public var promptSyntax: PromptSyntax = GenerationDefaults.promptSyntax
    /// With A1111's syntax: how token weights apply.
    public var emphasis: Emphasis = GenerationDefaults.emphasis
    /// LoRAs merged into the model for this request (besides the prompt's
    /// `<lora:…>` tags with A1111's syntax), by path or name under the LoRA folder.
    public var loras: [LoRASelection] = []
    /// Image-to-image: the image to start from. The output size defaults to
    /// its size rounded down to a multiple of 8 (as diffusers'); it is resized to the output size by `fit`.
    public var initImage: RGBImage?
    /// How the init image and mask meet an output size that differs from theirs (diffusers' resize modes).
    public var fit: ImageFit = .stretch
    /// How much of `initImage` is repainted, in (0, 1]: int(steps × strength)
    /// of the steps run (diffusers' `strength`, A1111's denoising strength).
    /// A Double, as Python's float: the step count must round as diffusers rounds it.
    /// nil: `GenerationDefaults.strength` (`outpaintStrength` when outpainting).
    public var strength: Double?
    /// Inpainting (with `initImage`): white repaints, black keeps.
    public var mask: RGBImage?
    /// Repaint the black part instead.
    public var invertMask = false
    /// A1111's mask blur in pixels (0: none, diffusers' hard mask): the result
    /// is laid over the init image through the blurred mask (`MaskBlur`).
    public var maskBlur = 0
    /// Inpainting: the whole picture (diffusers) or only the mask's region at full resolution (A1111's "Only masked").
    public var inpaintArea = InpaintArea.wholePicture
    /// Outpainting (with `initImage`, without `mask`): pixels added on each
    /// side, multiples of 8; the border is inpainted (`OutpaintMargins`).
    public var outpaint: OutpaintMargins?
    /// What decodes the final latents: the model's VAE, or the tiny
    /// autoencoder (TAESD) the service holds — ~60× less work, softer detail.
    public var decoder: LatentDecoderChoice = .model
    /// Every this many steps (0: never) the latents so far are decoded with
    /// the tiny autoencoder into a `.preview` event, as A1111's live preview.
    public var previewEvery = 0
    /// Whether the VAE decodes in tiles (bounded memory for large images) or whole.
    public var vaeTiling: VAETiling = GenerationDefaults.vaeTiling

    public init(prompt: String, seed: UInt64) {
        self.prompt = prompt
        self.seed = seed
    }
}

/// The parameters of a request, by the names the service's errors use; the
/// CLI and the server map them to their own option and field names.
public enum GenerationParameter: String, Sendable, CaseIterable {
    case steps, guidance, guidanceRescale, timestepSpacing, eta, size, sizeConditioning, clipSkip, count, strength, initImage, mask, outpaint, maskBlur
    case inpaintArea
    case decoder, previewEvery, scheduler
}

/// Which autoencoder decodes a request's image.
public enum LatentDecoderChoice: String, Sendable, CaseIterable, Codable {
    /// The model's own VAE.
    case model
    /// The tiny autoencoder (TAESD) loaded beside the model.
    case tiny
}
