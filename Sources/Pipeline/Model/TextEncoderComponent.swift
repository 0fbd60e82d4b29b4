import Models
import Tokenizers

/// One text encoder of a model with what it needs to turn text into
/// conditioning: its tokenizer, which hidden state the UNet is given, and
/// whether it also yields a pooled vector (SDXL's second encoder does).
public struct TextEncoderComponent: Sendable {
    /// Which layer's output feeds the UNet, before any user `clip_skip`.
    public enum HiddenState: Sendable, Equatable {
        /// The last layer, after the final LayerNorm (SD 1.x and 2.x, whose
        /// diffusers text encoder already ends at the penultimate OpenCLIP
        /// block); a user's clip skip steps back and still applies the norm,
        /// as diffusers' `StableDiffusionPipeline` does.
        case last
        /// The penultimate layer's output as it is, no final LayerNorm
        /// (SDXL: `hidden_states[-2]`, clip skip stepping back from there).
        case penultimate

        /// Layers left out from the end, `clipSkip` more on top.
        func layersSkipped(clipSkip: Int) -> Int { (self == .last ? 0 : 1) + clipSkip }
        /// Whether the selected layer goes through the final LayerNorm.
        var isNormalized: Bool { self == .last }
    }

    /// What a family's UNet is conditioned on: SDXL trains on the penultimate
    /// layers as they are, the others on the text encoder's last hidden state.
    public static func hiddenState(for family: ModelFamily) -> HiddenState {
        family == .stableDiffusionXL ? .penultimate : .last
    }

    public let model: CLIPTextModel
    public let tokenizer: CLIPTokenizer
    public let hiddenState: HiddenState
    public let yieldsPooled: Bool

    public init(model: CLIPTextModel, tokenizer: CLIPTokenizer, hiddenState: HiddenState = .last,
                yieldsPooled: Bool = false) {
        self.model = model
        self.tokenizer = tokenizer
        self.hiddenState = hiddenState
        self.yieldsPooled = yieldsPooled
    }

    /// The most layers a user may skip: at least one must run.
    public var maximumClipSkip: Int { model.layers.count - 1 - hiddenState.layersSkipped(clipSkip: 0) }
}
