import Foundation

/// diffusers' `AutoencoderTiny` (TAESD) hyperparameters under its config.json
/// names; a key the file leaves out takes `AutoencoderTiny()`'s default, which
/// is `madebyollin/taesd`'s.
public struct TinyAutoencoderConfiguration: Codable, Sendable, Equatable {
    public var className = "AutoencoderTiny"
    public var outChannels = 3
    public var latentChannels = 4
    public var decoderBlockOutChannels = [64, 64, 64, 64]
    public var numDecoderBlocks = [3, 3, 3, 1]
    public var upsamplingScalingFactor = 2
    public var activation = "relu"
    public var upsampleFunction = "nearest"
    public var scalingFactor: Float = 1
    public var shiftFactor: Float = 0

    enum CodingKeys: String, CodingKey {
        case className = "_class_name", outChannels = "out_channels", latentChannels = "latent_channels"
        case decoderBlockOutChannels = "decoder_block_out_channels", numDecoderBlocks = "num_decoder_blocks"
        case upsamplingScalingFactor = "upsampling_scaling_factor", activation = "act_fn"
        case upsampleFunction = "upsample_fn", scalingFactor = "scaling_factor", shiftFactor = "shift_factor"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = TinyAutoencoderConfiguration()
        try c.update(&d.className, .className); try c.update(&d.outChannels, .outChannels)
        try c.update(&d.latentChannels, .latentChannels)
        try c.update(&d.decoderBlockOutChannels, .decoderBlockOutChannels)
        try c.update(&d.numDecoderBlocks, .numDecoderBlocks)
        try c.update(&d.upsamplingScalingFactor, .upsamplingScalingFactor)
        try c.update(&d.activation, .activation); try c.update(&d.upsampleFunction, .upsampleFunction)
        try c.update(&d.scalingFactor, .scalingFactor)
        if let shift = try c.decodeIfPresent(Float?.self, forKey: .shiftFactor) { d.shiftFactor = shift ?? 0 }
        self = d
    }

    public static func load(_ url: URL) throws -> TinyAutoencoderConfiguration {
        try loadConfiguration(TinyAutoencoderConfiguration.self, from: url, what: "tiny autoencoder")
    }

    /// Rejects what the decoder does not implement, naming it, and numbers
    /// no autoencoder has (see `ConfigurationLimits`).
    public func validate(source: String) throws {
        func fail(_ why: String) -> ModelLoadError {
            .invalidConfiguration("\(source): unsupported tiny autoencoder: \(why)")
        }
        typealias L = ConfigurationLimits
        guard className == "AutoencoderTiny" else { throw fail("_class_name \(className) (expected AutoencoderTiny)") }
        guard activation == "relu" else { throw fail("act_fn \(activation) (TAESD uses relu)") }
        guard upsampleFunction == "nearest" else { throw fail("upsample_fn \(upsampleFunction) (TAESD uses nearest)") }
        guard upsamplingScalingFactor == 2 else { throw fail("upsampling_scaling_factor \(upsamplingScalingFactor) (TAESD uses 2)") }
        guard decoderBlockOutChannels.count == numDecoderBlocks.count else {
            throw fail("\(decoderBlockOutChannels.count) decoder_block_out_channels for \(numDecoderBlocks.count) num_decoder_blocks")
        }
        try L.check(decoderBlockOutChannels.count, L.blocks, "the number of decoder blocks", fail)
        try L.check(outChannels, L.imageChannels, "out_channels", fail)
        try L.check(latentChannels, L.imageChannels, "latent_channels", fail)
        for width in decoderBlockOutChannels { try L.check(width, L.channels, "decoder_block_out_channels", fail) }
        for count in numDecoderBlocks { try L.check(count, 0...64, "num_decoder_blocks", fail) }
        guard scalingFactor.isFinite, scalingFactor != 0, shiftFactor.isFinite else {
            throw fail("scaling_factor \(scalingFactor), shift_factor \(shiftFactor)")
        }
    }

    /// How many pixels one latent spans on each side: 2^(stages − 1).
    public var scaleFactor: Int { 1 << (decoderBlockOutChannels.count - 1) }
}
