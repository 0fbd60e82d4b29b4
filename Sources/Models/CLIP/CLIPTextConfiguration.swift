import Foundation

/// CLIPTextModel hyperparameters under transformers' config.json names.
/// A key a config.json leaves out takes transformers' `CLIPTextConfig`
/// default; `stableDiffusion15` is openai/clip-vit-large-patch14's text tower.
public struct CLIPTextConfiguration: Codable, Sendable, Equatable {
    public var vocabSize = 49408
    public var hiddenSize = 512
    public var intermediateSize = 2048
    public var numAttentionHeads = 8
    public var numHiddenLayers = 12
    public var maxPositionEmbeddings = 77
    public var hiddenAct = "quick_gelu"
    public var layerNormEps: Float = 1e-5
    /// Where the pooled vector is read (2, transformers' legacy default: at the highest id).
    public var eosTokenId = 2
    /// Width of `text_projection`'s output (CLIPTextModelWithProjection).
    public var projectionDim = 512

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numAttentionHeads = "num_attention_heads", numHiddenLayers = "num_hidden_layers"
        case maxPositionEmbeddings = "max_position_embeddings", hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps", eosTokenId = "eos_token_id", projectionDim = "projection_dim"
    }

    /// transformers' `CLIPTextConfig()` defaults.
    public init() {}

    /// SD 1.x's text encoder (openai/clip-vit-large-patch14).
    public static let stableDiffusion15: CLIPTextConfiguration = {
        var c = CLIPTextConfiguration()
        c.hiddenSize = 768
        c.intermediateSize = 3072
        c.numAttentionHeads = 12
        c.projectionDim = 768
        return c
    }()

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = CLIPTextConfiguration()
        try c.update(&d.vocabSize, .vocabSize); try c.update(&d.hiddenSize, .hiddenSize)
        try c.update(&d.intermediateSize, .intermediateSize); try c.update(&d.numAttentionHeads, .numAttentionHeads)
        try c.update(&d.numHiddenLayers, .numHiddenLayers); try c.update(&d.maxPositionEmbeddings, .maxPositionEmbeddings)
        try c.update(&d.hiddenAct, .hiddenAct); try c.update(&d.layerNormEps, .layerNormEps)
        try c.update(&d.eosTokenId, .eosTokenId); try c.update(&d.projectionDim, .projectionDim)
        self = d
    }

    /// Rejects numbers no text encoder has (see `ConfigurationLimits`) with one line.
    public func validate(source: String) throws {
        func fail(_ why: String) -> ModelLoadError { .invalidConfiguration("\(source): unsupported text encoder: \(why)") }
        try ConfigurationLimits.checkTransformer(
            vocabSize: vocabSize, hiddenSize: hiddenSize, intermediateSize: intermediateSize, layers: numHiddenLayers,
            positions: maxPositionEmbeddings, heads: numAttentionHeads, eps: layerNormEps, fail)
        try ConfigurationLimits.check(projectionDim, ConfigurationLimits.channels, "projection_dim", fail)
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
