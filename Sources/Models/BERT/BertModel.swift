import TensorCore

/// BERT's encoder: word + position + token-type embeddings, LayerNorm,
/// post-LN transformer blocks, and the [CLS] pooler. Any size from its
/// config (bert-base, MiniLM, …).
public struct BertModel: Sendable {
    public let configuration: BertConfiguration
    public let wordEmbeddings: Tensor
    public let positionEmbeddings: Tensor
    public let tokenTypeEmbeddings: Tensor
    public let embeddingNorm: LayerNorm
    public let layers: [TransformerBlock]
    /// Absent in checkpoints saved without the pooler (sentence-transformers).
    public let pooler: Linear?

    public struct Output: Sendable {
        public let lastHiddenState: Tensor
        public let pooled: Tensor?
    }

    public init(configuration c: BertConfiguration, weights w: Weights) throws {
        try c.validate(source: w.source.description)
        configuration = c
        let width = c.hiddenSize, eps = c.layerNormEps
        let kind: FeedForward.Kind
        switch c.hiddenAct {
        case "gelu": kind = .gelu
        default:
            throw ModelLoadError.invalidConfiguration("\(w.source.description): unsupported BERT activation '\(c.hiddenAct)'")
        }
        wordEmbeddings = try w.tensor("embeddings.word_embeddings.weight", shape: [c.vocabSize, width])
        positionEmbeddings = try w.tensor("embeddings.position_embeddings.weight", shape: [c.maxPositionEmbeddings, width])
        tokenTypeEmbeddings = try w.tensor("embeddings.token_type_embeddings.weight", shape: [c.typeVocabSize, width])
        embeddingNorm = try LayerNorm(w("embeddings.LayerNorm"), width: width, eps: eps)
        layers = try (0..<c.numHiddenLayers).map { i in
            let l = w("encoder.layer")(i)
            return TransformerBlock(
                selfAttention: try MultiHeadAttention(l("attention"), names: .bert, width: width, heads: c.numAttentionHeads),
                selfAttentionNorm: try LayerNorm(l("attention.output.LayerNorm"), width: width, eps: eps),
                feedForward: try FeedForward(up: l("intermediate.dense"), down: l("output.dense"), width: width,
                                             hidden: c.intermediateSize, kind: kind),
                feedForwardNorm: try LayerNorm(l("output.LayerNorm"), width: width, eps: eps),
                normPosition: .post)
        }
        pooler = w.contains("pooler.dense.weight") ? try Linear(w("pooler.dense"), input: width, output: width) : nil
    }

    /// - Parameters:
    ///   - ids: [batch][length] token ids, all the same length.
    ///   - attentionMask: 1 for real tokens, 0 for padding (default: all 1).
    ///   - tokenTypes: segment ids (default: all 0).
    /// - Throws: `ModelInputError` for sequences of unequal length, longer
    ///   than the model's positions, or with ids outside its vocabulary (a
    ///   vocab.txt of another model) or its token types.
    public func callAsFunction(ids: [[Int32]], attentionMask: [[Int32]]? = nil,
                               tokenTypes: [[Int32]]? = nil) throws -> Output {
        try ModelInputError.check(ids, positions: configuration.maxPositionEmbeddings, vocabulary: configuration.vocabSize)
        if let bad = tokenTypes?.lazy.joined().first(where: { !(0..<Int32(configuration.typeVocabSize)).contains($0) }) {
            throw ModelInputError.tokenTypeOutOfRange(bad, types: configuration.typeVocabSize)
        }
        let batch = ids.count, length = ids.first?.count ?? 0
        let backend = wordEmbeddings.backend
        let words = backend.embedding(ids.flatMap { $0 }, table: wordEmbeddings).reshaped([batch, length, -1])
        let types = backend.embedding((tokenTypes ?? ids.map { _ in Array(repeating: 0, count: length) }).flatMap { $0 },
                                      table: tokenTypeEmbeddings).reshaped([batch, length, -1])
        let positions = backend.embedding((0..<Int32(length)).map { $0 }, table: positionEmbeddings)
        var h = embeddingNorm(words + types + positions)

        // transformers adds the dtype's lowest value at padded keys.
        let keyMask = attentionMask.map { mask in
            backend.upload(mask.flatMap { $0 }.map { $0 == 0 ? -Float.greatestFiniteMagnitude : 0 }, shape: [batch, length])
        }
        for layer in layers { h = layer(h, keyMask: keyMask) }

        let pooled = pooler.map { pooler in
            // Each sequence's [CLS] row alone, not a copy of the whole hidden state.
            let tokens = h.reshaped([batch * length, -1])
            let first = Tensor.concat((0..<batch).map { tokens.slice(rows: $0 * length..<$0 * length + 1) }, axis: 0)
            return pooler(first, activation: .tanh)
        }
        return Output(lastHiddenState: h, pooled: pooled)
    }
}
