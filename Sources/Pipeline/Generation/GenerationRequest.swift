import Schedulers

/// The defaults of a generation, declared once: the CLI's help, the server
/// and the service read them here. Size and sampler default to the model's
/// (`ModelBundle.defaultImageSize`, `defaultScheduler`).
public enum GenerationDefaults {
    /// diffusers' StableDiffusionPipeline: 50 steps at guidance 7.5.
    public static let steps = 50
    public static let guidance: Float = 7.5
    public static let rng = RandomSourceKind.torch
    public static let clipSkip = 0
    public static let count = 1
    /// A1111's prompt language, with its default emphasis.
    public static let promptSyntax = PromptSyntax.a1111
    public static let emphasis = Emphasis.original
    /// diffusers and A1111 require sizes in multiples of 8 (on top of the VAE's factor).
    public static let sizeMultiple = 8
    /// The longest side accepted at all (memory admission refuses far less
    /// on real machines; this keeps every size computation in range).
    public static let maximumSide = 1 << 20
}

/// What a user asks for: one prompt, made `count` times with seeds `seed`,
/// `seed + 1`, …. Unset fields take `GenerationDefaults` or the model's own
/// defaults; the service validates the whole request against the model
/// before any work starts (`GenerationService.resolve`).
public struct GenerationRequest: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String = ""
    public var steps: Int = GenerationDefaults.steps
    public var guidance: Float = GenerationDefaults.guidance
    public var seed: UInt64
    /// nil: the model's default size.
    public var width: Int?
    public var height: Int?
    /// nil: the sampler the model's scheduler config names.
    public var scheduler: SchedulerKind?
    public var rng: RandomSourceKind = GenerationDefaults.rng
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

    public init(prompt: String, seed: UInt64) {
        self.prompt = prompt
        self.seed = seed
    }
}

/// The parameters of a request, by the names the service's errors use; the
/// CLI and the server map them to their own option and field names.
public enum GenerationParameter: String, Sendable, CaseIterable {
    case steps, guidance, size, clipSkip, count
}
