import Foundation

/// UNet2DConditionModel hyperparameters under diffusers' config.json names.
/// A key a config.json leaves out takes diffusers' own default, as
/// `from_pretrained` would; `stableDiffusion15` is SD 1.5's whole config.
public struct UNetConfiguration: Codable, Sendable, Equatable {
    public var inChannels = 4
    public var outChannels = 4
    public var blockOutChannels = [320, 640, 1280, 1280]
    public var layersPerBlock = 2
    public var downBlockTypes = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
    public var upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
    public var midBlockType: String? = "UNetMidBlock2DCrossAttn"
    public var crossAttentionDim = 1280
    /// SD 1.x's config names the head *count* here; diffusers reads it so.
    public var attentionHeadDim: IntOrList = .one(8)
    public var numAttentionHeads: IntOrList?
    public var transformerLayersPerBlock: IntOrList = .one(1)
    public var normNumGroups = 32
    public var normEps: Float = 1e-5
    public var useLinearProjection = false
    public var flipSinToCos = true
    public var freqShift: Float = 0
    /// Latent size the model was trained at (nil: unknown).
    public var sampleSize: Int?
    /// "text_time" (SDXL): pooled text and six size numbers added to the timestep embedding.
    public var addEmbeddingType: String?
    /// Sinusoidal features per size number ("text_time"; SDXL 256).
    public var additionTimeEmbedDim: Int?
    /// The added embedding's input: pooled width + 6 × additionTimeEmbedDim (SDXL 2816).
    public var projectionClassEmbeddingsInputDim: Int?
    /// An up-path depth list of its own; not in any checkpoint sdgen targets: refused.
    public var reverseTransformerLayersPerBlock: [Int]?
    public var classEmbedType: String?
    /// SD 2.1's: attention scores in f32 where the model computes in fp16.
    /// sdgen's attention always accumulates and takes its softmax in f32,
    /// so the flag changes nothing here; it is read so configs that set it load.
    public var upcastAttention = false
    /// Variants no Stable Diffusion checkpoint sdgen targets uses; refused by name.
    public var onlyCrossAttention: BoolOrList = .one(false)
    public var dualCrossAttention = false
    public var numClassEmbeds: Int?

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels"
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case downBlockTypes = "down_block_types", upBlockTypes = "up_block_types"
        case midBlockType = "mid_block_type", crossAttentionDim = "cross_attention_dim"
        case attentionHeadDim = "attention_head_dim", numAttentionHeads = "num_attention_heads"
        case transformerLayersPerBlock = "transformer_layers_per_block"
        case normNumGroups = "norm_num_groups", normEps = "norm_eps"
        case useLinearProjection = "use_linear_projection", flipSinToCos = "flip_sin_to_cos"
        case freqShift = "freq_shift", sampleSize = "sample_size"
        case addEmbeddingType = "addition_embed_type", classEmbedType = "class_embed_type"
        case additionTimeEmbedDim = "addition_time_embed_dim"
        case projectionClassEmbeddingsInputDim = "projection_class_embeddings_input_dim"
        case reverseTransformerLayersPerBlock = "reverse_transformer_layers_per_block"
        case upcastAttention = "upcast_attention", onlyCrossAttention = "only_cross_attention"
        case dualCrossAttention = "dual_cross_attention", numClassEmbeds = "num_class_embeds"
    }

    /// diffusers' `UNet2DConditionModel()` defaults.
    public init() {}

    /// stable-diffusion-v1-5's unet/config.json.
    public static let stableDiffusion15: UNetConfiguration = {
        var c = UNetConfiguration()
        c.crossAttentionDim = 768
        c.sampleSize = 64
        return c
    }()

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = UNetConfiguration()
        try c.update(&d.inChannels, .inChannels); try c.update(&d.outChannels, .outChannels)
        try c.update(&d.blockOutChannels, .blockOutChannels); try c.update(&d.layersPerBlock, .layersPerBlock)
        try c.update(&d.downBlockTypes, .downBlockTypes); try c.update(&d.upBlockTypes, .upBlockTypes)
        d.midBlockType = try c.decodeIfPresent(String.self, forKey: .midBlockType) ?? d.midBlockType
        try c.update(&d.crossAttentionDim, .crossAttentionDim); try c.update(&d.attentionHeadDim, .attentionHeadDim)
        d.numAttentionHeads = try c.decodeIfPresent(IntOrList.self, forKey: .numAttentionHeads)
        try c.update(&d.transformerLayersPerBlock, .transformerLayersPerBlock)
        try c.update(&d.normNumGroups, .normNumGroups); try c.update(&d.normEps, .normEps)
        try c.update(&d.useLinearProjection, .useLinearProjection); try c.update(&d.flipSinToCos, .flipSinToCos)
        try c.update(&d.freqShift, .freqShift); d.sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize)
        d.addEmbeddingType = try c.decodeIfPresent(String.self, forKey: .addEmbeddingType)
        d.additionTimeEmbedDim = try c.decodeIfPresent(Int.self, forKey: .additionTimeEmbedDim)
        d.projectionClassEmbeddingsInputDim = try c.decodeIfPresent(Int.self, forKey: .projectionClassEmbeddingsInputDim)
        d.reverseTransformerLayersPerBlock = try c.decodeIfPresent([Int].self, forKey: .reverseTransformerLayersPerBlock)
        d.classEmbedType = try c.decodeIfPresent(String.self, forKey: .classEmbedType)
        try c.update(&d.upcastAttention, .upcastAttention); try c.update(&d.onlyCrossAttention, .onlyCrossAttention)
        try c.update(&d.dualCrossAttention, .dualCrossAttention)
        d.numClassEmbeds = try c.decodeIfPresent(Int.self, forKey: .numClassEmbeds)
        self = d
    }

    public static func load(_ url: URL) throws -> UNetConfiguration {
        try loadConfiguration(UNetConfiguration.self, from: url, what: "UNet")
    }

    /// Attention heads per down block (diffusers: num_attention_heads, else attention_head_dim).
    public var headsPerBlock: [Int] { (numAttentionHeads ?? attentionHeadDim).values(count: blockOutChannels.count) }
    public var transformerDepths: [Int] { transformerLayersPerBlock.values(count: blockOutChannels.count) }
    /// The pooled text width a "text_time" UNet takes (SDXL: 1280), else nil.
    public var addedPooledWidth: Int? {
        guard addEmbeddingType == "text_time", let time = additionTimeEmbedDim,
              let input = projectionClassEmbeddingsInputDim else { return nil }
        return input - TextTimeEmbedding.sizeNumbers * time
    }

    /// Rejects what this UNet does not implement (SDXL's added embeddings, …)
    /// with one line instead of a wrong image.
    public func validate(source: String) throws {
        let blocks = blockOutChannels.count
        func fail(_ why: String) -> ModelLoadError { .invalidConfiguration("\(source): unsupported UNet: \(why)") }
        guard blocks > 0, downBlockTypes.count == blocks, upBlockTypes.count == blocks else {
            throw fail("\(blocks) block widths but \(downBlockTypes.count) down and \(upBlockTypes.count) up blocks")
        }
        guard headsPerBlock.count == blocks, transformerDepths.count == blocks else { throw fail("per-block lists of the wrong length") }
        if let addEmbeddingType {
            guard addEmbeddingType == "text_time" else { throw fail("addition_embed_type '\(addEmbeddingType)'") }
            guard let time = additionTimeEmbedDim, let input = projectionClassEmbeddingsInputDim else {
                throw fail("addition_embed_type 'text_time' needs addition_time_embed_dim and projection_class_embeddings_input_dim")
            }
            try ConfigurationLimits.check(time, 1...4096, "addition_time_embed_dim", fail)
            try ConfigurationLimits.check(input - TextTimeEmbedding.sizeNumbers * time, ConfigurationLimits.channels,
                                          "projection_class_embeddings_input_dim minus 6 × addition_time_embed_dim (the pooled width)", fail)
        }
        if reverseTransformerLayersPerBlock != nil { throw fail("reverse_transformer_layers_per_block") }
        if let classEmbedType { throw fail("class_embed_type '\(classEmbedType)'") }
        if let numClassEmbeds { throw fail("num_class_embeds \(numClassEmbeds) (class-conditioned UNet)") }
        if onlyCrossAttention.values(count: blocks).contains(true) { throw fail("only_cross_attention true") }
        if dualCrossAttention { throw fail("dual_cross_attention true") }
        for type in downBlockTypes where !["CrossAttnDownBlock2D", "DownBlock2D"].contains(type) { throw fail("down block \(type)") }
        for type in upBlockTypes where !["CrossAttnUpBlock2D", "UpBlock2D"].contains(type) { throw fail("up block \(type)") }
        if let midBlockType, midBlockType != "UNetMidBlock2DCrossAttn" { throw fail("mid block \(midBlockType)") }
        typealias L = ConfigurationLimits
        try L.check(blocks, L.blocks, "the number of blocks", fail)
        try L.check(layersPerBlock, 1...16, "layers_per_block", fail)
        try L.check(inChannels, L.imageChannels, "in_channels", fail)
        try L.check(outChannels, L.imageChannels, "out_channels", fail)
        try L.check(crossAttentionDim, L.channels, "cross_attention_dim", fail)
        try L.checkEpsilon(normEps, "norm_eps", fail)
        if let sampleSize { try L.check(sampleSize, 1...(1 << 14), "sample_size", fail) }
        for (width, (heads, depth)) in zip(blockOutChannels, zip(headsPerBlock, transformerDepths)) {
            try L.check(width, L.channels, "block_out_channels", fail)
            try L.checkDivides(width, by: normNumGroups, "norm groups", fail)
            try L.check(depth, 1...64, "transformer_layers_per_block", fail)
            try L.checkDivides(width, by: heads, "attention heads", fail)
        }
    }
}
