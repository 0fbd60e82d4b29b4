/// A model a LoRA changes, and the names a LoRA file may give each of its
/// modules: kohya's (the diffusers path with `_` for `.`, or the original
/// LDM path for UNets converted from single files), and diffusers'/PEFT's.
public enum LoRATarget: Sendable, Equatable {
    /// The UNet, with what its LDM names depend on.
    case unet(layersPerBlock: Int, upBlockHasAttention: [Bool])
    /// Text encoder `index` of `count` (SDXL has two).
    case textEncoder(index: Int, count: Int)

    public var isTextEncoder: Bool {
        if case .textEncoder = self { true } else { false }
    }

    /// File module names for a model module path (a weight key without `.weight`), in order of preference.
    func candidates(_ module: String) -> [String] {
        func kohya(_ path: String) -> String { path.replacingOccurrences(of: ".", with: "_") }
        switch self {
        case let .unet(layersPerBlock, upBlockHasAttention):
            let original = CheckpointKeyMap.unetOriginalName(module + ".weight", layersPerBlock: layersPerBlock,
                                                            upBlockHasAttention: upBlockHasAttention)
            let ldm = original.dropFirst("model.diffusion_model.".count).dropLast(".weight".count)
            return ["lora_unet_" + kohya(module), "lora_unet_" + kohya(String(ldm)), "unet." + module]
        case let .textEncoder(index, count):
            // The models' keys are transformers' without `text_model.`; the files have it.
            let kohyaPrefix = count == 1 ? "lora_te_" : "lora_te\(index + 1)_"
            let component = index == 0 ? "text_encoder." : "text_encoder_\(index + 1)."
            return [kohyaPrefix + "text_model_" + kohya(module), kohyaPrefix + kohya(module),
                    component + "text_model." + module, component + module]
        }
    }
}

extension LoRATarget {
    /// The UNet of this architecture.
    public static func unet(of unet: UNetConfiguration) -> LoRATarget {
        .unet(layersPerBlock: unet.layersPerBlock,
              upBlockHasAttention: unet.upBlockTypes.map { $0 == "CrossAttnUpBlock2D" })
    }
}
