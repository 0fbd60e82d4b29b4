import TensorCore

/// The text encoder of Stable Diffusion 1.x: token and position embeddings,
/// pre-LN transformer blocks under a causal mask, a final LayerNorm.
/// Weight names are transformers' without the `text_model.` prefix (the
/// loader accepts both).
public struct CLIPTextModel: Sendable {
    public let configuration: CLIPTextConfiguration
    public let tokenEmbedding: Tensor
    public let positionEmbedding: Tensor
    public let layers: [TransformerBlock]
    public let finalLayerNorm: LayerNorm
    /// `text_projection` of a `CLIPTextModelWithProjection` (SDXL's second encoder).
    public let textProjection: Linear?

    /// - Parameter withProjection: whether the checkpoint has `text_projection`
    ///   (`CLIPTextModelWithProjection`), applied to the pooled vector.
    public init(configuration c: CLIPTextConfiguration, weights w: Weights, withProjection: Bool = false) throws {
        try c.validate(source: w.source.description)
        configuration = c
        let width = c.hiddenSize, eps = c.layerNormEps
        let kind = try FeedForward.Kind(huggingFaceName: c.hiddenAct, source: w.source.description)
        tokenEmbedding = try w.tensor("embeddings.token_embedding.weight", shape: [c.vocabSize, width])
        positionEmbedding = try w.tensor("embeddings.position_embedding.weight", shape: [c.maxPositionEmbeddings, width])
        layers = try (0..<c.numHiddenLayers).map { i in
            let l = w("encoder.layers")(i)
            return TransformerBlock(
                selfAttention: try MultiHeadAttention(l("self_attn"), names: .clip, width: width, heads: c.numAttentionHeads),
                selfAttentionNorm: try LayerNorm(l("layer_norm1"), width: width, eps: eps),
                feedForward: try FeedForward(up: l("mlp.fc1"), down: l("mlp.fc2"), width: width,
                                             hidden: c.intermediateSize, kind: kind),
                feedForwardNorm: try LayerNorm(l("layer_norm2"), width: width, eps: eps),
                normPosition: .pre)
        }
        finalLayerNorm = try LayerNorm(w("final_layer_norm"), width: width, eps: eps)
        textProjection = withProjection
            ? try Linear(w("text_projection"), input: width, output: c.projectionDim, bias: false) : nil
    }

    /// Encodes a batch of equally long id sequences.
    /// - Parameter skip: layers to leave out from the end (diffusers' clip_skip):
    ///   0 gives last_hidden_state; 1 the penultimate layer's output. The final
    ///   LayerNorm is applied either way, as diffusers does.
    /// - Returns: hidden states [batch, length, hiddenSize].
    /// - Throws: `ModelInputError` for sequences of unequal length, longer
    ///   than the position table, or ids outside the vocabulary (a tokenizer
    ///   that does not belong to this model); prompts of any length are the
    ///   prompt encoder's to cut into chunks.
    public func callAsFunction(_ ids: [[Int32]], skip: Int = 0) throws -> Tensor {
        try encode(ids, skip: skip, pooled: false).hiddenStates
    }

    /// The hidden states `callAsFunction` gives and, when asked, the pooled
    /// vector per sequence: the last layer's normed state at the sequence's
    /// first EOS (transformers' `pooler_output`; the highest id when the
    /// config keeps the legacy `eos_token_id` 2), through `text_projection`
    /// when the model has one (`CLIPTextModelWithProjection`'s `text_embeds`).
    /// - Parameter replacing: token embeddings to use instead of the table's
    ///   at some positions (textual-inversion vectors, A1111's `EmbeddingsWithFixes`).
    /// - Parameter normalizesSkipped: whether a skipped-to layer's output goes
    ///   through the final LayerNorm: diffusers' SD pipelines apply it with
    ///   clip_skip; SDXL's conditions on `hidden_states[-2]` as it is.
    public func encode(_ ids: [[Int32]], skip: Int = 0, pooled: Bool, normalizesSkipped: Bool = true,
                       replacing replacements: [TokenEmbeddingReplacement] = []) throws -> CLIPTextOutput {
        try ModelInputError.check(ids, positions: configuration.maxPositionEmbeddings, vocabulary: configuration.vocabSize)
        let batch = ids.count, length = ids.first?.count ?? 0
        let backend = tokenEmbedding.backend
        var tokens = backend.embedding(ids.flatMap { $0 }, table: tokenEmbedding).reshaped([batch, length, -1])
        if !replacements.isEmpty {
            let width = configuration.hiddenSize
            var values = tokens.toArray()
            for r in replacements {
                guard r.sequence < batch, r.position >= 0, r.position + r.vectors.count / max(width, 1) <= length,
                      r.vectors.count % width == 0 else {
                    throw ModelInputError.badReplacement(sequence: r.sequence, position: r.position, values: r.vectors.count)
                }
                let start = (r.sequence * length + r.position) * width
                values.replaceSubrange(start..<start + r.vectors.count, with: r.vectors)
            }
            tokens = backend.upload(values, shape: [batch, length, width])
        }
        let positions = backend.embedding((0..<Int32(length)).map { $0 }, table: positionEmbedding)
        var h = tokens + positions
        let kept = max(0, layers.count - skip)
        var selected: Tensor?
        for (index, layer) in layers.enumerated() {
            if index == kept { selected = normalizesSkipped ? finalLayerNorm(h) : h }
            if index >= kept && !pooled { break }
            h = layer(h, causal: true)
        }
        guard pooled else { return CLIPTextOutput(hiddenStates: selected ?? finalLayerNorm(h), pooled: nil) }
        let last = finalLayerNorm(h)
        // Row b·length + (EOS position of b) of the flattened states.
        let rows = ids.enumerated().map { b, sequence -> Int32 in
            let position = configuration.eosTokenId == 2
                ? sequence.indices.max { sequence[$0] < sequence[$1] } ?? 0
                : sequence.firstIndex(of: Int32(configuration.eosTokenId)) ?? 0
            return Int32(b * length + position)
        }
        let vectors = backend.embedding(rows, table: last.reshaped([batch * length, -1]))
        return CLIPTextOutput(hiddenStates: selected ?? last, pooled: textProjection.map { $0(vectors) } ?? vectors)
    }
}

/// Token embeddings put in place of the table's: rows `position…` of
/// sequence `sequence` of the batch, `vectors` [n × hiddenSize] row-major.
public struct TokenEmbeddingReplacement: Sendable, Equatable {
    public let sequence: Int
    public let position: Int
    public let vectors: [Float]

    public init(sequence: Int, position: Int, vectors: [Float]) {
        self.sequence = sequence
        self.position = position
        self.vectors = vectors
    }
}

/// What `CLIPTextModel.encode` gives.
public struct CLIPTextOutput: Sendable {
    /// [batch, length, hiddenSize].
    public let hiddenStates: Tensor
    /// [batch, hiddenSize], or [batch, projectionDim] with a projection.
    public let pooled: Tensor?
}
