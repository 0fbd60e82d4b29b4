/// The Stable Diffusion generation a checkpoint belongs to. It decides what
/// its configs cannot say: the architecture constants of a single file (which
/// carries no config), the image size when a config has no `sample_size`,
/// and which families sdgen can run.
public enum ModelFamily: String, Sendable, CaseIterable {
    /// SD 1.x: CLIP ViT-L/14 text encoder (768 wide), 8 attention heads per block.
    case stableDiffusion1 = "SD 1.x"
    /// SD 2.x: OpenCLIP ViT-H/14 text encoder (1024 wide), 64-channel attention heads.
    case stableDiffusion2 = "SD 2.x"
    /// SDXL: two text encoders and added time/size conditioning.
    case stableDiffusionXL = "SDXL"

    /// The family a diffusers UNet config describes.
    public init(unet: UNetConfiguration) {
        if unet.addEmbeddingType == "text_time" {
            self = .stableDiffusionXL
        } else if unet.crossAttentionDim == 1024 {
            self = .stableDiffusion2
        } else {
            self = .stableDiffusion1
        }
    }

    /// The side of the images the family was trained on.
    public var defaultImageSize: Int {
        switch self {
        case .stableDiffusion1: 512
        case .stableDiffusion2: 768
        case .stableDiffusionXL: 1024
        }
    }

    /// Attention heads per UNet block of this family's original release:
    /// head counts are not in the tensor shapes.
    func unetAttentionHeads(blockWidths: [Int]) -> IntOrList {
        switch self {
        case .stableDiffusion1: .one(8)
        case .stableDiffusion2, .stableDiffusionXL: .perBlock(blockWidths.map { max(1, $0 / 64) })
        }
    }

    /// The token the standard tokenizer of text encoder `index` pads with,
    /// for checkpoints that bring no tokenizer (nil: its end-of-text token,
    /// as CLIP's does). OpenCLIP's tokenizers (SD 2.x's, SDXL's second) pad
    /// with "!" — it changes the hidden states the UNet sees.
    public func paddingToken(textEncoder index: Int) -> String? {
        switch self {
        case .stableDiffusion1: nil
        case .stableDiffusion2: "!"
        case .stableDiffusionXL: index == 0 ? nil : "!"
        }
    }

    /// The VAE's latent scale of the family's autoencoder (single files carry no VAE config).
    public var latentScalingFactor: Float {
        self == .stableDiffusionXL ? 0.13025 : 0.18215
    }

    /// SDXL's sinusoidal features per size number (not in the tensor shapes).
    public var additionTimeEmbedDim: Int? { self == .stableDiffusionXL ? 256 : nil }

    /// Text encoder heads: CLIP and OpenCLIP text towers use 64-wide heads.
    func textEncoderAttentionHeads(width: Int) -> Int { max(1, width / 64) }
}
