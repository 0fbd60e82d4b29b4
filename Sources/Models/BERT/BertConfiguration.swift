import Foundation

/// BertModel hyperparameters under transformers' config.json names.
/// Defaults are bert-base-uncased's.
public struct BertConfiguration: Codable, Sendable, Equatable {
    public var vocabSize = 30522
    public var hiddenSize = 768
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var intermediateSize = 3072
    public var hiddenAct = "gelu"
    public var maxPositionEmbeddings = 512
    public var typeVocabSize = 2
    public var layerNormEps: Float = 1e-12

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act", maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size", layerNormEps = "layer_norm_eps"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = BertConfiguration()
        try c.update(&d.vocabSize, .vocabSize); try c.update(&d.hiddenSize, .hiddenSize)
        try c.update(&d.numHiddenLayers, .numHiddenLayers); try c.update(&d.numAttentionHeads, .numAttentionHeads)
        try c.update(&d.intermediateSize, .intermediateSize); try c.update(&d.hiddenAct, .hiddenAct)
        try c.update(&d.maxPositionEmbeddings, .maxPositionEmbeddings); try c.update(&d.typeVocabSize, .typeVocabSize)
        try c.update(&d.layerNormEps, .layerNormEps)
        self = d
    }

    /// Rejects numbers no BERT has (see `ConfigurationLimits`) with one line.
    public func validate(source: String) throws {
        func fail(_ why: String) -> ModelLoadError { .invalidConfiguration("\(source): unsupported BERT: \(why)") }
        try ConfigurationLimits.checkTransformer(
            vocabSize: vocabSize, hiddenSize: hiddenSize, intermediateSize: intermediateSize, layers: numHiddenLayers,
            positions: maxPositionEmbeddings, heads: numAttentionHeads, eps: layerNormEps, fail)
        try ConfigurationLimits.check(typeVocabSize, 1...(1 << 16), "type_vocab_size", fail)
    }

    public static func load(_ url: URL) throws -> BertConfiguration {
        try loadConfiguration(BertConfiguration.self, from: url, what: "BERT")
    }
}
