import Models
import PromptLanguage
import TensorCore
import Tokenizers

/// AUTOMATIC1111's prompt encoding: each prompt parsed for emphasis
/// (`PromptAttention`), cut into 75-token chunks (`PromptChunker`), every
/// chunk encoded on its own, token weights applied to the hidden states
/// (`Emphasis`), the chunks concatenated along the tokens; prompts of a
/// batch with fewer chunks are padded with the empty prompt's chunk
/// (A1111's `pad_cond`), so guidance still runs as one batch.
public struct A1111PromptEncoder: PromptEncoding {
    public let encoders: [TextEncoderComponent]
    public let emphasis: Emphasis

    /// Chunks one prompt may take (32 × 75 = 2400 tokens): every chunk is a
    /// text-encoder pass and widens each cross-attention, so a pasted novel
    /// is refused rather than left to exhaust memory.
    public static let maximumChunks = 32

    public let embeddings: TextualInversionLibrary

    public init(encoders: [TextEncoderComponent], emphasis: Emphasis = .original,
                embeddings: TextualInversionLibrary = .empty) {
        self.encoders = encoders
        self.emphasis = emphasis
        self.embeddings = embeddings
    }

    /// The weighted runs of a prompt as this encoder reads it.
    public func runs(of prompt: String) throws -> [PromptAttention.Run] {
        emphasis == .none ? [PromptAttention.Run(prompt, 1)] : try PromptAttention.parse(prompt)
    }

    public func encode(_ prompts: [String], labels: [String], clipSkip: Int) throws -> Conditioning {
        let tokenizeWatch = Stopwatch()
        let parsed = try prompts.map(runs(of:))
        var tokenizeMilliseconds = tokenizeWatch.milliseconds
        var states: [Tensor] = []
        var pooled: Tensor?
        for encoder in encoders {
            let chunker = PromptChunker(tokenizer: encoder.tokenizer,
                                        contextLength: encoder.model.configuration.maxPositionEmbeddings,
                                        embeddings: embeddings)
            let watch = Stopwatch()
            let chunked = parsed.map(chunker.chunks)
            tokenizeMilliseconds += watch.milliseconds
            for (chunks, label) in zip(chunked, labels) where chunks.count > Self.maximumChunks {
                throw PromptSyntaxError.tooLong(label: label, chunks: chunks.count, limit: Self.maximumChunks)
            }
            let skip = encoder.hiddenState.layersSkipped(clipSkip: clipSkip)
            // Every prompt's chunks in one batch (one chunk each: the batch diffusers encodes).
            let all = chunked.flatMap { $0 }
            let width = encoder.model.configuration.hiddenSize, length = all[0].tokens.count
            let replacements = try all.enumerated().flatMap { index, chunk in
                try chunk.fixes.map { fix in
                    guard let values = fix.embedding.values(forWidth: width) else {
                        let widths = fix.embedding.widths.map(String.init).joined(separator: " and ")
                        throw EmbeddingError(fix.embedding.name, "an embedding \(widths) wide; this model's text encoder is \(width) wide")
                    }
                    return TokenEmbeddingReplacement(sequence: index, position: fix.position, vectors: values)
                }
            }
            let output = try encoder.model.encode(all.map(\.tokens), skip: skip, pooled: encoder.yieldsPooled,
                                                  normalizesSkipped: encoder.hiddenState.isNormalized,
                                                  replacing: replacements)
            let most = chunked.map(\.count).max() ?? 1
            let backend = output.hiddenStates.backend
            let weighted = emphasis != .none && all.contains { $0.weights.contains { $0 != 1 } }
            let padded = chunked.contains { $0.count != most }
            if !weighted && !padded {
                // Each prompt's chunks are consecutive rows of the batch: concatenating
                // them along the tokens is a reshape, and the states stay on the device.
                states.append(output.hiddenStates.reshaped([prompts.count, most * length, width]))
            } else {
                var hidden = output.hiddenStates.toArray()
                for (index, chunk) in all.enumerated() {
                    emphasis.apply(chunk.weights, to: &hidden, rows: index * length, width: width)
                }
                // The empty prompt's chunk pads the prompts with fewer chunks.
                let padding = padded
                    ? try encoder.model.encode(chunker.chunks(try runs(of: "")).map(\.tokens), skip: skip, pooled: false,
                                               normalizesSkipped: encoder.hiddenState.isNormalized).hiddenStates.toArray() : []
                var batch: [Float] = []
                batch.reserveCapacity(prompts.count * most * length * width)
                var first = 0
                for chunks in chunked {
                    batch += hidden[first * length * width..<(first + chunks.count) * length * width]
                    for _ in chunks.count..<most { batch += padding }
                    first += chunks.count
                }
                states.append(backend.upload(batch, shape: [prompts.count, most * length, width]))
            }
            if encoder.yieldsPooled, let vectors = output.pooled {
                // A1111 keeps each prompt's first chunk's pooled vector: a row gather.
                let firstRows = chunked.indices.map { Int32(chunked[..<$0].reduce(0) { $0 + $1.count }) }
                pooled = backend.embedding(firstRows, table: vectors)
            }
        }
        let sequence = states.count == 1 ? states[0] : states[0].backend.concat(states, axis: 2)
        return Conditioning(sequence: sequence, pooled: pooled, truncatedTokens: prompts.map { _ in 0 },
                            tokenizeMilliseconds: tokenizeMilliseconds)
    }
}

extension Emphasis {
    /// Applies the chunk's token weights to its hidden states, `rows` rows
    /// into `hidden` ([tokens, width] row-major), as A1111's emphasis does.
    func apply(_ weights: [Float], to hidden: inout [Float], rows: Int, width: Int) {
        guard self != .none, weights.contains(where: { $0 != 1 }) else { return }
        let start = rows * width, count = weights.count * width
        hidden.withUnsafeMutableBufferPointer { all in
            let z = UnsafeMutableBufferPointer(rebasing: all[start..<start + count])
            let originalMean = Self.mean(z)
            for (token, weight) in weights.enumerated() {
                for c in 0..<width { z[token * width + c] *= weight }
            }
            guard self == .original else { return }
            let ratio = originalMean / Self.mean(z)
            for i in z.indices { z[i] *= ratio }
        }
    }

    /// The mean as float32, as torch's `z.mean()` returns it.
    private static func mean(_ values: UnsafeMutableBufferPointer<Float>) -> Float {
        var sum = 0.0
        for v in values { sum += Double(v) }
        return Float(sum / Double(values.count))
    }
}
