import Foundation

/// CLIPTextModel hyperparameters under transformers' config.json names.
/// Defaults are openai/clip-vit-large-patch14's text tower (SD 1.x).
public struct CLIPTextConfiguration: Codable, Sendable, Equatable {
    public var vocabSize = 49408
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var numAttentionHeads = 12
    public var numHiddenLayers = 12
    public var maxPositionEmbeddings = 77
    public var hiddenAct = "quick_gelu"
    public var layerNormEps: Float = 1e-5

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numAttentionHeads = "num_attention_heads", numHiddenLayers = "num_hidden_layers"
        case maxPositionEmbeddings = "max_position_embeddings", hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = CLIPTextConfiguration()
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.vocabSize, &d.vocabSize); try read(.hiddenSize, &d.hiddenSize)
        try read(.intermediateSize, &d.intermediateSize); try read(.numAttentionHeads, &d.numAttentionHeads)
        try read(.numHiddenLayers, &d.numHiddenLayers); try read(.maxPositionEmbeddings, &d.maxPositionEmbeddings)
        try read(.hiddenAct, &d.hiddenAct); try read(.layerNormEps, &d.layerNormEps)
        self = d
    }

    public static func load(_ url: URL) throws -> CLIPTextConfiguration {
        try loadConfiguration(CLIPTextConfiguration.self, from: url, what: "text encoder")
    }
}

extension FeedForward.Kind {
    /// transformers' hidden_act names.
    init(huggingFaceName name: String, source: String) throws {
        switch name {
        case "quick_gelu": self = .quickGelu
        case "gelu": self = .gelu
        default:
            throw ModelLoadError.invalidConfiguration("\(source): unsupported activation '\(name)'")
        }
    }
}
