import Models

/// The model families `sdgen bench --model` times, and `--weights random[:MODEL]`
/// generates with, by their real shapes (random weights: time does not depend
/// on values). The baseline scripts (scripts/baseline/sd_bench.py) build the same.
public enum BenchmarkModel: String, CaseIterable, Sendable, Codable {
    /// SD 1.5: CLIP ViT-L/14 text encoder, 512², classifier-free guidance.
    case sd15
    /// SD 2.1: OpenCLIP ViT-H (23 layers as diffusers ships it, gelu), per-block
    /// heads, linear projections, 1024-wide cross-attention, 768².
    case sd21
    /// SD-Turbo: SD 2.1's architecture at 512², one step without guidance
    /// (only the conditional batch, as diffusers with guidance_scale 0).
    case sdTurbo = "sd-turbo"
    /// SDXL base 1.0: CLIP ViT-L and OpenCLIP ViT-bigG (2048-wide context, pooled
    /// projection), three levels with 0/2/10 transformer layers, size conditioning, 1024².
    case sdxl
    /// SDXL-Turbo: SDXL's architecture at 512², one step without guidance.
    case sdxlTurbo = "sdxl-turbo"

    public var title: String {
        switch self {
        case .sd15: "Stable Diffusion 1.5"
        case .sd21: "Stable Diffusion 2.1"
        case .sdTurbo: "SD-Turbo"
        case .sdxl: "Stable Diffusion XL 1.0"
        case .sdxlTurbo: "SDXL-Turbo"
        }
    }

    private var isTurbo: Bool { self == .sdTurbo || self == .sdxlTurbo }
    private var isXL: Bool { self == .sdxl || self == .sdxlTurbo }
    /// Whether the VAE decodes with full-precision products, as a generation
    /// of this family does (`VAEConfiguration.runsInFullPrecision`).
    public var vaeNeedsFullPrecision: Bool { vae.runsInFullPrecision(in: isXL ? .stableDiffusionXL : .stableDiffusion1) }

    /// The image side the model was trained at.
    public var defaultSize: Int {
        switch self {
        case .sd21: 768
        case .sdxl: 1024
        default: 512
        }
    }

    /// Steps of a typical image: 50 (diffusers' default), 1 for the Turbo models.
    public var imageSteps: Int { isTurbo ? 1 : 50 }

    /// Prompts per UNet evaluation: 2 with classifier-free guidance, 1 without.
    public var batch: Int { isTurbo ? 1 : 2 }

    public var unet: UNetConfiguration {
        var c = UNetConfiguration.stableDiffusion15
        switch self {
        case .sd15:
            return c
        case .sd21, .sdTurbo:
            c.attentionHeadDim = .perBlock([5, 10, 20, 20])
            c.crossAttentionDim = 1024
            c.upcastAttention = true
        case .sdxl, .sdxlTurbo:
            c.blockOutChannels = [320, 640, 1280]
            c.downBlockTypes = ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"]
            c.upBlockTypes = ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"]
            c.attentionHeadDim = .perBlock([5, 10, 20])
            c.transformerLayersPerBlock = .perBlock([1, 2, 10])
            c.crossAttentionDim = 2048
            c.addEmbeddingType = "text_time"
            c.additionTimeEmbedDim = 256
            c.projectionClassEmbeddingsInputDim = 2816
        }
        c.useLinearProjection = true
        c.sampleSize = defaultSize / 8
        return c
    }

    /// In the order their states are concatenated; SDXL's second has a projection.
    public var textEncoders: [CLIPTextConfiguration] {
        switch self {
        case .sd15:
            return [.stableDiffusion15]
        case .sd21, .sdTurbo:
            return [Self.openCLIP(width: 1024, layers: 23, heads: 16, projection: 512)]
        case .sdxl, .sdxlTurbo:
            return [.stableDiffusion15, Self.openCLIP(width: 1280, layers: 32, heads: 20, projection: 1280)]
        }
    }

    public var vae: VAEConfiguration {
        var c = VAEConfiguration.stableDiffusion15
        if isXL { c.scalingFactor = ModelFamily.stableDiffusionXL.latentScalingFactor }
        return c
    }

    private static func openCLIP(width: Int, layers: Int, heads: Int, projection: Int) -> CLIPTextConfiguration {
        var c = CLIPTextConfiguration()
        c.hiddenSize = width
        c.intermediateSize = 4 * width
        c.numAttentionHeads = heads
        c.numHiddenLayers = layers
        c.hiddenAct = "gelu"
        c.projectionDim = projection
        return c
    }
}
