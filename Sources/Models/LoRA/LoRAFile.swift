import Foundation
import SafeTensors

/// A LoRA/LoCon `.safetensors` file, its modules by name. Reads the layouts
/// in the wild: kohya/A1111 (`lora_unet_…`, `lora_te_…`, `lora_te1_`/`lora_te2_`;
/// `.lora_down.weight`, `.lora_up.weight`, `.lora_mid.weight`, `.alpha`) and
/// diffusers/PEFT (`unet.….lora_A.weight` / `lora_B.weight`, `text_encoder.…`,
/// the older `.lora.down.weight` and attention-processor `to_q_lora.down.weight`).
public struct LoRAFile: Sendable {
    public let url: URL
    /// A1111's name for it: the file stem (what `<lora:NAME:…>` says).
    public var name: String { url.deletingPathExtension().lastPathComponent }
    /// By name: kohya's as written, diffusers'/PEFT's as `unet.<module>` / `text_encoder.<module>`.
    public let modules: [String: LoRAModule]
    /// Tensors that belong to no module (reported as unmatched).
    public let strays: [String]

    /// The model family the text-encoder names imply: two encoders (`lora_te1_`,
    /// `lora_te2_`, `text_encoder_2.`) is SDXL; nil when it has no text-encoder part.
    public var textEncoderCount: Int? {
        if modules.keys.contains(where: { $0.hasPrefix("lora_te1_") || $0.hasPrefix("lora_te2_")
                                          || $0.hasPrefix("text_encoder_2.") }) { return 2 }
        if modules.keys.contains(where: { $0.hasPrefix("lora_te_") || $0.hasPrefix("text_encoder.") }) { return 1 }
        return nil
    }

    public init(url: URL) throws {
        let file = try SafeTensorsFile(url: url)
        self.url = url
        var parts: [String: [Role: TensorInfo]] = [:]
        var strays: [String] = []
        for (name, info) in file.tensors {
            if let (module, role) = Self.split(name) {
                parts[module, default: [:]][role] = info
            } else if let kind = Self.lycorisKind(name) {
                throw LoRAError.unsupportedNetwork(path: url.path, module: name, kind: kind)
            } else {
                strays.append(name)
            }
        }
        var modules: [String: LoRAModule] = [:]
        for (name, roles) in parts {
            modules[name] = try LoRAModule(name: name, file: file, down: roles[.down], up: roles[.up], mid: roles[.mid],
                                           alpha: roles[.alpha])
        }
        guard !modules.isEmpty else { throw LoRAError.notALoRA(path: url.path) }
        self.modules = modules
        self.strays = strays.sorted()
    }

    enum Role { case down, up, mid, alpha }

    private static let suffixes: [(String, Role)] = [
        (".lora_down.weight", .down), (".lora_up.weight", .up), (".lora_mid.weight", .mid), (".alpha", .alpha),
        (".lora_A.weight", .down), (".lora_B.weight", .up),
        (".lora.down.weight", .down), (".lora.up.weight", .up),
        (".lora_linear_layer.down.weight", .down), (".lora_linear_layer.up.weight", .up),
    ]

    /// A tensor name as (module, role); diffusers' module names get their
    /// component prefix (the oldest attention-processor files have none).
    static func split(_ name: String) -> (String, Role)? {
        // diffusers' attention processors: `….attn1.processor.to_out_lora.down.weight`.
        if let range = name.range(of: ".processor.") {
            let rest = name[range.upperBound...]
            for (suffix, role) in [("_lora.down.weight", Role.down), ("_lora.up.weight", .up)] where rest.hasSuffix(suffix) {
                let projection = rest.dropLast(suffix.count)
                let module = name[..<range.lowerBound] + "." + (projection == "to_out" ? "to_out.0" : projection)
                return (component(String(module)), role)
            }
            return nil
        }
        for (suffix, role) in suffixes where name.hasSuffix(suffix) {
            return (component(String(name.dropLast(suffix.count))), role)
        }
        return nil
    }

    private static func component(_ module: String) -> String {
        let known = ["lora_unet_", "lora_te_", "lora_te1_", "lora_te2_", "unet.", "text_encoder.", "text_encoder_2."]
        return known.contains(where: module.hasPrefix) ? module : "unet." + module
    }

    /// LyCORIS networks other than LoRA/LoCon, by a tensor name they use.
    private static func lycorisKind(_ name: String) -> String? {
        let kinds: [(String, String)] = [(".hada_w1_a", "LoHa"), (".hada_w1_b", "LoHa"), (".lokr_w1", "LoKr"),
                                         (".lokr_w2", "LoKr"), (".oft_blocks", "OFT"), (".oft_diag", "OFT"),
                                         (".dora_scale", "DoRA"), (".w_norm", "norm"), (".diff", "full-weight diff"),
                                         (".a1.weight", "GLoRA")]
        return kinds.first { name.contains($0.0) }?.1
    }
}
