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
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.vocabSize, &d.vocabSize); try read(.hiddenSize, &d.hiddenSize)
        try read(.numHiddenLayers, &d.numHiddenLayers); try read(.numAttentionHeads, &d.numAttentionHeads)
        try read(.intermediateSize, &d.intermediateSize); try read(.hiddenAct, &d.hiddenAct)
        try read(.maxPositionEmbeddings, &d.maxPositionEmbeddings); try read(.typeVocabSize, &d.typeVocabSize)
        try read(.layerNormEps, &d.layerNormEps)
        self = d
    }

    public static func load(_ url: URL) throws -> BertConfiguration {
        try loadConfiguration(BertConfiguration.self, from: url, what: "BERT")
    }
}
