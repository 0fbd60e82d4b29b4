import Tokenizers

/// One text-encoder pass of a long prompt: `[BOS] + 75 tokens + [EOS]`,
/// padded, with each token's weight.
public struct PromptChunk: Sendable, Equatable {
    public var tokens: [Int32]
    public var weights: [Float]
}

/// A1111's `tokenize_line` (modules/sd_hijack_clip.py): weighted runs to
/// chunks of `tokensPerChunk` tokens. A chunk that fills up moves the words
/// after its last comma (if within `commaBacktrack` tokens) to the next
/// chunk; BREAK closes the current chunk. Each chunk gets BOS and EOS and is
/// padded with EOS (SD 1.x's pad token; encoders that pad otherwise replace
/// what follows the first EOS, `padAfterEnd`).
public struct PromptChunker: Sendable {
    public let tokenizer: CLIPTokenizer
    public let tokensPerChunk: Int
    /// A1111's `comma_padding_backtrack` setting (default 20; 0 turns it off).
    public let commaBacktrack: Int
    private let commaID: Int32?

    public init(tokenizer: CLIPTokenizer, contextLength: Int, commaBacktrack: Int = 20) {
        self.tokenizer = tokenizer
        tokensPerChunk = contextLength - 2
        self.commaBacktrack = commaBacktrack
        commaID = tokenizer.id(ofToken: ",</w>")
    }

    public func chunks(_ runs: [PromptAttention.Run]) -> [PromptChunk] {
        var chunks: [PromptChunk] = []
        var tokens: [Int32] = [], weights: [Float] = []
        var lastComma = -1
        func close() {
            let padding = max(0, tokensPerChunk - tokens.count)
            let body = tokens + Array(repeating: tokenizer.eosID, count: padding)
            let bodyWeights = weights + Array(repeating: 1, count: padding)
            chunks.append(PromptChunk(tokens: [tokenizer.bosID] + body + [tokenizer.eosID],
                                      weights: [1] + bodyWeights + [1]))
            tokens = []
            weights = []
            lastComma = -1
        }
        for run in runs {
            if run.isBreak {
                close()
                continue
            }
            let weight = Float(run.weight)
            for token in tokenizer.tokenize(run.text) {
                if token == commaID {
                    lastComma = tokens.count
                } else if commaBacktrack != 0, tokens.count == tokensPerChunk, lastComma != -1,
                          tokens.count - lastComma <= commaBacktrack {
                    let cut = lastComma + 1
                    let (movedTokens, movedWeights) = (Array(tokens[cut...]), Array(weights[cut...]))
                    tokens.removeSubrange(cut...)
                    weights.removeSubrange(cut...)
                    close()
                    (tokens, weights) = (movedTokens, movedWeights)
                }
                if tokens.count == tokensPerChunk { close() }
                tokens.append(token)
                weights.append(weight)
            }
        }
        if !tokens.isEmpty || chunks.isEmpty { close() }
        return chunks
    }
}
