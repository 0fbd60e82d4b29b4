import PromptLanguage
import TensorCore

/// The conditioning of a request's prompts at each model evaluation. With
/// A1111's syntax each prompt is a schedule (prompt editing, alternation);
/// every combination of texts is encoded once per request, when first
/// needed, however many images the request makes.
final class PromptConditioning {
    private let encoder: any PromptEncoding
    /// The negative prompt ("" when none) first, as diffusers batches [uncond, cond].
    private let prompts: [String]
    private let labels: [String]
    private let clipSkip: Int
    private let schedules: [[PromptSchedule.Entry]]?
    /// An absent negative prompt conditions on zeros (SDXL's `force_zeros_for_empty_prompt`).
    private let zeroesNegative: Bool
    private var encoded: [[String]: Conditioning] = [:]

    init(_ generation: ResolvedGeneration, encoder: any PromptEncoding, forcesZerosForEmptyPrompt: Bool = false) {
        let request = generation.request
        self.encoder = encoder
        zeroesNegative = forcesZerosForEmptyPrompt && generation.isGuided && request.negativePrompt.isEmpty
        prompts = generation.isGuided ? [request.negativePrompt, generation.encoderPrompt] : [generation.encoderPrompt]
        labels = generation.isGuided ? ["the negative prompt", "the prompt"] : ["the prompt"]
        clipSkip = request.clipSkip
        schedules = request.promptSyntax == .a1111
            ? prompts.map { PromptSchedule.entries($0, steps: request.steps) } : nil
    }

    /// Whether evaluation `index`'s conditioning is already encoded (no time to report for it).
    func isEncoded(atEvaluation index: Int) -> Bool { encoded[texts(atEvaluation: index)] != nil }

    func callAsFunction(atEvaluation index: Int) throws -> Conditioning {
        let texts = texts(atEvaluation: index)
        if let known = encoded[texts] { return known }
        let fresh = zeroesNegative ? try withZeroNegative(texts) : try encoder.encode(texts, labels: labels, clipSkip: clipSkip)
        encoded[texts] = fresh
        return fresh
    }

    /// The prompt encoded alone, zeros in the negative prompt's row (as diffusers
    /// builds them: `torch.zeros_like` of the prompt's embeddings and pooled vector).
    private func withZeroNegative(_ texts: [String]) throws -> Conditioning {
        var positive = try encoder.encode(Array(texts.dropFirst()), labels: Array(labels.dropFirst()), clipSkip: clipSkip)
        func prependingZeros(_ tensor: Tensor) -> Tensor {
            let row = [1] + tensor.shape.dropFirst()
            return Tensor.concat([tensor.backend.zeros(row, dtype: tensor.dtype), tensor], axis: 0)
        }
        positive.sequence = prependingZeros(positive.sequence)
        positive.pooled = positive.pooled.map(prependingZeros)
        positive.truncatedTokens.insert(0, at: 0)
        return positive
    }

    private func texts(atEvaluation index: Int) -> [String] {
        schedules?.map { PromptSchedule.text(of: $0, atEvaluation: index) } ?? prompts
    }
}
