import Tokenizers

/// One text-encoder pass of a long prompt: `[BOS] + 75 tokens + [EOS]`,
/// padded, with each token's weight and the textual-inversion vectors that
/// take the place of placeholder tokens.
public struct PromptChunk: Sendable, Equatable {
    public var tokens: [Int32]
    public var weights: [Float]
    /// Embeddings by position in `tokens` (BOS counted).
    public var fixes: [Fix] = []

    public struct Fix: Sendable, Equatable {
        public let position: Int
        public let embedding: TextualInversionLibrary.Embedding
    }
}

/// A1111's `tokenize_line` (modules/sd_hijack_clip.py): weighted runs to
/// chunks of `tokensPerChunk` tokens. A chunk that fills up moves the words
/// after its last comma (if within `commaBacktrack` tokens) to the next
/// chunk; BREAK closes the current chunk; an embedding's name becomes its
/// vectors (a chunk without room for them closes first). Each chunk gets
/// BOS and EOS and is padded with the tokenizer's padding: EOS for CLIP,
/// "!" for OpenCLIP (A1111 pads with EOS, then sets everything after the
/// first EOS to the encoder's `id_pad`).
public struct PromptChunker: Sendable {
    public let tokenizer: CLIPTokenizer
    public let tokensPerChunk: Int
    /// A1111's `comma_padding_backtrack` setting (default 20; 0 turns it off).
    public let commaBacktrack: Int
    private let commaID: Int32?
    private let embeddings: [Int32: [(ids: [Int32], embedding: TextualInversionLibrary.Embedding)]]

    public init(tokenizer: CLIPTokenizer, contextLength: Int, commaBacktrack: Int = 20,
                embeddings: TextualInversionLibrary = .empty) {
        self.tokenizer = tokenizer
        tokensPerChunk = contextLength - 2
        self.commaBacktrack = commaBacktrack
        commaID = tokenizer.id(ofToken: ",</w>")
        self.embeddings = embeddings.lookup(tokenizer)
    }

    public func chunks(_ runs: [PromptAttention.Run]) -> [PromptChunk] {
        var chunks: [PromptChunk] = []
        var current = PromptChunk(tokens: [], weights: [])
        var lastComma = -1
        func close() {
            let padding = max(0, tokensPerChunk - current.tokens.count)
            current.tokens = [tokenizer.bosID] + current.tokens + [tokenizer.eosID]
                + Array(repeating: tokenizer.padID, count: padding)
            current.weights = [1] + current.weights + Array(repeating: 1, count: padding) + [1]
            current.fixes = current.fixes.map { .init(position: $0.position + 1, embedding: $0.embedding) }
            chunks.append(current)
            current = PromptChunk(tokens: [], weights: [])
            lastComma = -1
        }
        for run in runs {
            if run.isBreak {
                close()
                continue
            }
            let weight = Float(run.weight)
            let tokens = tokenizer.tokenize(run.text)
            var position = 0
            while position < tokens.count {
                let token = tokens[position]
                if token == commaID {
                    lastComma = current.tokens.count
                } else if commaBacktrack != 0, current.tokens.count == tokensPerChunk, lastComma != -1,
                          current.tokens.count - lastComma <= commaBacktrack {
                    let cut = lastComma + 1
                    let moved = PromptChunk(tokens: Array(current.tokens[cut...]), weights: Array(current.weights[cut...]),
                                            fixes: current.fixes.filter { $0.position >= cut }
                                                .map { .init(position: $0.position - cut, embedding: $0.embedding) })
                    current.tokens.removeSubrange(cut...)
                    current.weights.removeSubrange(cut...)
                    current.fixes.removeAll { $0.position >= cut }
                    close()
                    current = moved
                }
                if current.tokens.count == tokensPerChunk { close() }
                if let (length, embedding) = embedding(in: tokens, at: position) {
                    let count = embedding.vectorCount
                    if current.tokens.count + count > tokensPerChunk { close() }
                    current.fixes.append(.init(position: current.tokens.count, embedding: embedding))
                    current.tokens += Array(repeating: 0, count: count)
                    current.weights += Array(repeating: weight, count: count)
                    position += length
                } else {
                    current.tokens.append(token)
                    current.weights.append(weight)
                    position += 1
                }
            }
        }
        if !current.tokens.isEmpty || chunks.isEmpty { close() }
        return chunks
    }

    /// A1111's `find_embedding_at_position`: the longest embedding name whose tokens start here.
    private func embedding(in tokens: [Int32], at position: Int) -> (Int, TextualInversionLibrary.Embedding)? {
        guard let candidates = embeddings[tokens[position]] else { return nil }
        for (ids, embedding) in candidates where tokens[position...].starts(with: ids) {
            return (ids.count, embedding)
        }
        return nil
    }
}
