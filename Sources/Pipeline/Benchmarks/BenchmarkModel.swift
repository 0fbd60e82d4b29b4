import Models

/// The model families `sdgen bench --model` times, by their real shapes
/// (random weights: time does not depend on values). The baseline scripts
/// (scripts/baseline/sd_bench.py) build the same three.
public enum BenchmarkModel: String, CaseIterable, Sendable, Codable {
    /// SD 1.5: CLIP ViT-L/14 text encoder, 512², classifier-free guidance.
    case sd15
    /// SD 2.1: OpenCLIP ViT-H (23 layers as diffusers ships it, gelu), per-block
    /// heads, linear projections, 1024-wide cross-attention, 768².
    case sd21
    /// SD-Turbo: SD 2.1's architecture at 512², one step without guidance
    /// (only the conditional batch, as diffusers with guidance_scale 0).
    case sdTurbo = "sd-turbo"

    public var title: String {
        switch self {
        case .sd15: "Stable Diffusion 1.5"
        case .sd21: "Stable Diffusion 2.1"
        case .sdTurbo: "SD-Turbo"
        }
    }

    /// The image side the model was trained at.
    public var defaultSize: Int { self == .sd21 ? 768 : 512 }

    /// Steps of a typical image: 50 (diffusers' default), 1 for SD-Turbo.
    public var imageSteps: Int { self == .sdTurbo ? 1 : 50 }

    /// Prompts per UNet evaluation: 2 with classifier-free guidance, 1 without.
    public var batch: Int { self == .sdTurbo ? 1 : 2 }

    public var unet: UNetConfiguration {
        guard self != .sd15 else { return .stableDiffusion15 }
        var c = UNetConfiguration.stableDiffusion15
        c.attentionHeadDim = .perBlock([5, 10, 20, 20])
        c.crossAttentionDim = 1024
        c.useLinearProjection = true
        c.upcastAttention = true
        c.sampleSize = defaultSize / 8
        return c
    }

    public var textEncoder: CLIPTextConfiguration {
        guard self != .sd15 else { return .stableDiffusion15 }
        var c = CLIPTextConfiguration()
        c.hiddenSize = 1024
        c.intermediateSize = 4096
        c.numAttentionHeads = 16
        c.numHiddenLayers = 23
        c.hiddenAct = "gelu"
        c.projectionDim = 512
        return c
    }
}
