/// How prompt text is read.
public enum PromptSyntax: String, Sendable, CaseIterable, Codable {
    /// AUTOMATIC1111's: emphasis brackets, BREAK, prompts of any length in
    /// 75-token chunks (`A1111PromptEncoder`). Plain prompts of up to 75
    /// tokens encode exactly as diffusers encodes them.
    case a1111
    /// diffusers': the text as written, cut at the text encoder's 77 tokens (`CLIPPromptEncoder`).
    case diffusers
}

/// How A1111 applies token weights to the text encoder's output
/// (modules/sd_emphasis.py), by the names its `--emphasis` setting uses.
public enum Emphasis: String, Sendable, CaseIterable, Codable {
    /// Hidden states times each token's weight, then each chunk's mean
    /// restored to what it was (A1111's default, "Original").
    case original
    /// Times the weights, mean not restored ("No norm").
    case noNorm = "no-norm"
    /// Brackets are plain text; no weights ("None").
    case none

    /// The name A1111 writes in an image's parameters.
    public var a1111Name: String {
        switch self {
        case .original: "Original"
        case .noNorm: "No norm"
        case .none: "None"
        }
    }
}
