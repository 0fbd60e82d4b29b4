import TensorCore
import Tokenizers

/// diffusers' prompt encoding: each text encoder tokenizes every prompt to
/// its context length (cutting what does not fit), runs the batch, and hands
/// on the hidden state its model uses; several encoders' states are
/// concatenated along the width (SDXL), and the pooled vector comes from
/// the encoder that yields one.
public struct CLIPPromptEncoder: PromptEncoding {
    public let encoders: [TextEncoderComponent]

    public init(encoders: [TextEncoderComponent]) {
        self.encoders = encoders
    }

    public func encode(_ prompts: [String], labels: [String], clipSkip: Int) throws -> Conditioning {
        var states: [Tensor] = []
        var pooled: Tensor?
        var truncated = [Int](repeating: 0, count: prompts.count)
        var warnings: [String] = []
        var tokenizeMilliseconds = 0.0
        for (index, encoder) in encoders.enumerated() {
            let length = encoder.model.configuration.maxPositionEmbeddings
            let tokenizeWatch = Stopwatch()
            let encoded = prompts.map { encoder.tokenizer.encode($0, maxLength: length) }
            tokenizeMilliseconds += tokenizeWatch.milliseconds
            let output = try encoder.model.encode(encoded.map(\.ids), skip: encoder.hiddenState.layersSkipped(clipSkip: clipSkip),
                                                  pooled: encoder.yieldsPooled,
                                                  normalizesSkipped: encoder.hiddenState.isNormalized)
            states.append(output.hiddenStates)
            if encoder.yieldsPooled { pooled = output.pooled }
            // What was cut is the first tokenizer's to report (SDXL's two cut alike).
            guard index == 0 else { continue }
            truncated = encoded.map(\.truncatedCount)
            warnings = zip(encoded, labels).compactMap { encoder.tokenizer.truncationWarning(for: $0, label: $1) }
        }
        let sequence = states.count == 1 ? states[0] : states[0].backend.concat(states, axis: 2)
        return Conditioning(sequence: sequence, pooled: pooled, truncatedTokens: truncated, warnings: warnings,
                            tokenizeMilliseconds: tokenizeMilliseconds)
    }
}
