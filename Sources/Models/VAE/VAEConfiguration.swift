import Foundation

/// AutoencoderKL hyperparameters under diffusers' config.json names.
/// A key a config.json leaves out takes diffusers' `AutoencoderKL()`
/// default; `stableDiffusion15` is SD 1.5's VAE.
public struct VAEConfiguration: Codable, Sendable, Equatable {
    public var inChannels = 3
    public var outChannels = 3
    public var latentChannels = 4
    public var blockOutChannels = [64]
    public var layersPerBlock = 1
    public var normNumGroups = 32
    public var scalingFactor: Float = 0.18215
    public var midBlockAddAttention = true
    /// The image side the VAE was trained at (diffusers' `sample_size`; a list's first entry):
    /// the tile size of a tiled decode (`enable_tiling`).
    public var sampleSize = 32
    /// diffusers' `force_upcast`: the VAE overflows 16-bit floats, so its
    /// SDXL pipelines run it in f32 (nil where the config does not say).
    public var forceUpcast: Bool?

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels", latentChannels = "latent_channels"
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case normNumGroups = "norm_num_groups", scalingFactor = "scaling_factor"
        case midBlockAddAttention = "mid_block_add_attention"
        case sampleSize = "sample_size"
        case forceUpcast = "force_upcast"
    }

    /// diffusers' `AutoencoderKL()` defaults.
    public init() {}

    /// SD 1.x/2.x's VAE.
    public static let stableDiffusion15: VAEConfiguration = {
        var c = VAEConfiguration()
        c.blockOutChannels = [128, 256, 512, 512]
        c.layersPerBlock = 2
        c.sampleSize = 512
        return c
    }()

    /// Rejects numbers no VAE has (see `ConfigurationLimits`) with one line.
    public func validate(source: String) throws {
        func fail(_ why: String) -> ModelLoadError { .invalidConfiguration("\(source): unsupported VAE: \(why)") }
        typealias L = ConfigurationLimits
        try L.check(blockOutChannels.count, L.blocks, "the number of blocks", fail)
        try L.check(layersPerBlock, 1...16, "layers_per_block", fail)
        try L.check(inChannels, L.imageChannels, "in_channels", fail)
        try L.check(outChannels, L.imageChannels, "out_channels", fail)
        try L.check(latentChannels, L.imageChannels, "latent_channels", fail)
        for width in blockOutChannels {
            try L.check(width, L.channels, "block_out_channels", fail)
            try L.checkDivides(width, by: normNumGroups, "norm groups", fail)
        }
        guard scalingFactor.isFinite, scalingFactor != 0 else { throw fail("scaling_factor \(scalingFactor)") }
        try L.check(sampleSize, scaleFactor...(1 << 16), "sample_size", fail)
    }

    /// Whether this VAE runs with full-precision products (`FullPrecisionProducts`)
    /// in a model of `family`: diffusers' SDXL pipelines run SDXL's in f32, its
    /// activations passing 65504, unless the config says `force_upcast: false`
    /// (the fp16-fix VAE); SD 1.x/2.x pipelines never do.
    public func runsInFullPrecision(in family: ModelFamily) -> Bool {
        family == .stableDiffusionXL && (forceUpcast ?? true)
    }

    /// How many pixels one latent spans on each side: 2^(blocks − 1).
    public var scaleFactor: Int { 1 << (blockOutChannels.count - 1) }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = VAEConfiguration()
        try c.update(&d.inChannels, .inChannels); try c.update(&d.outChannels, .outChannels)
        try c.update(&d.latentChannels, .latentChannels); try c.update(&d.blockOutChannels, .blockOutChannels)
        try c.update(&d.layersPerBlock, .layersPerBlock); try c.update(&d.normNumGroups, .normNumGroups)
        try c.update(&d.scalingFactor, .scalingFactor); try c.update(&d.midBlockAddAttention, .midBlockAddAttention)
        if let side = try? c.decodeIfPresent(Int.self, forKey: .sampleSize) {
            d.sampleSize = side
        } else if let sides = try? c.decodeIfPresent([Int].self, forKey: .sampleSize), let first = sides.first {
            d.sampleSize = first
        }
        d.forceUpcast = try c.decodeIfPresent(Bool.self, forKey: .forceUpcast)
        self = d
    }

    public static func load(_ url: URL) throws -> VAEConfiguration {
        try loadConfiguration(VAEConfiguration.self, from: url, what: "VAE")
    }
}
