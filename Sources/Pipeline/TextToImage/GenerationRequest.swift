import Schedulers

/// One image to make: what a user asks for on the command line.
/// Defaults are the diffusers Stable Diffusion 1.5 pipeline's.
public struct GenerationRequest: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String = ""
    public var steps: Int = 50
    public var guidance: Float = 7.5
    public var seed: UInt64
    public var width: Int = 512
    public var height: Int = 512
    public var scheduler: SchedulerKind = .pndm
    public var rng: RandomSourceKind = .torch
    /// Text encoder layers left out from the end (diffusers' clip_skip).
    public var clipSkip: Int = 0

    public init(prompt: String, seed: UInt64) {
        self.prompt = prompt
        self.seed = seed
    }

    /// Guidance ≤ 1 runs the conditional branch alone, as diffusers does.
    public var usesClassifierFreeGuidance: Bool { guidance > 1 }
}

/// Where the time of one image went, for the summary line and --json.
public struct GenerationTimings: Sendable, Codable, Equatable {
    public var tokenizeMilliseconds: Double = 0
    public var textEncoderMilliseconds: Double = 0
    /// Seconds per model evaluation.
    public var unetSeconds: [Double] = []
    public var vaeDecodeSeconds: Double = 0
    public var totalSeconds: Double = 0

    public var unetMeanSeconds: Double { unetSeconds.isEmpty ? 0 : unetSeconds.reduce(0, +) / Double(unetSeconds.count) }
    public var unetMinimumSeconds: Double { unetSeconds.min() ?? 0 }
}

/// A generated image and how it was made.
public struct GenerationResult: Sendable {
    public let request: GenerationRequest
    /// The VAE's output, about [-1, 1], [height][width][3] row-major.
    public let vaeOutput: [Float]
    public let timings: GenerationTimings
    /// Prompt tokens cut off at the text encoder's 77 (prompt, negative prompt).
    public let truncatedTokens: (prompt: Int, negative: Int)
    /// What the user should hear about truncation, e.g. which words were dropped.
    public let warnings: [String]

    /// RGB in [0, 1] before rounding to bytes: diffusers' output_type="np".
    public var pixels: [Float] { vaeOutput.map { min(max($0 / 2 + 0.5, 0), 1) } }
}
