import TensorCore

/// What the UNet is conditioned on for one batch of prompts: per-token
/// embeddings of any length (one row per prompt, the text encoders'
/// outputs side by side), an optional pooled vector per prompt (SDXL), and
/// what the user should hear about how the text was read.
public struct Conditioning: Sendable {
    /// [batch, tokens, width].
    public var sequence: Tensor
    /// [batch, width], from the encoder that yields one.
    public var pooled: Tensor?
    /// Tokens cut off, per prompt of the batch.
    public var truncatedTokens: [Int]
    public var warnings: [String]
    /// Of the encoding's time, what tokenizing took.
    public var tokenizeMilliseconds: Double

    public init(sequence: Tensor, pooled: Tensor? = nil, truncatedTokens: [Int], warnings: [String] = [],
                tokenizeMilliseconds: Double = 0) {
        self.sequence = sequence
        self.pooled = pooled
        self.truncatedTokens = truncatedTokens
        self.warnings = warnings
        self.tokenizeMilliseconds = tokenizeMilliseconds
    }
}

/// The prompt-encoding seam: text in, conditioning out. Alternatives (A1111
/// emphasis and long prompts, embeddings) replace this one step.
public protocol PromptEncoding: Sendable {
    /// Conditioning for `prompts`, one batch row each, in order.
    /// - Parameter labels: how warnings name each prompt ("the prompt", "the negative prompt").
    func encode(_ prompts: [String], labels: [String], clipSkip: Int) throws -> Conditioning
}
