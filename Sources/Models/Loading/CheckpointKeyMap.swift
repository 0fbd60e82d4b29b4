/// Every translation between the names the models ask for (diffusers' and
/// transformers' module paths) and the names checkpoints in the wild use.
/// One function per model and layout; each returns candidate tensors in the
/// order they are tried.
public enum CheckpointKeyMap {
    public typealias Map = @Sendable (String) -> [StoredTensor]

    // MARK: diffusers / Hugging Face folders

    /// transformers ≥ 5 drops the `text_model.` prefix that SD 1.5's files have.
    public static let clipFolder: Map = { [.whole($0), .whole("text_model." + $0)] }

    /// BERT folders come with or without the `bert.` prefix (pre-training heads beside it).
    public static let bertFolder: Map = { [.whole($0), .whole("bert." + $0)] }

    /// diffusers renamed the VAE attention projections; SD 1.5's VAE file
    /// still has the old names.
    public static let vaeFolder: Map = { key in
        let legacy: [(String, String)] = [(".to_q.", ".query."), (".to_k.", ".key."), (".to_v.", ".value."),
                                          (".to_out.0.", ".proj_attn.")]
        for (new, old) in legacy where key.contains(new) {
            return [.whole(key), .whole(key.replacingOccurrences(of: new, with: old))]
        }
        return [.whole(key)]
    }

    // MARK: Single-file (original LDM) checkpoints

    /// A model's names under a prefix (transformers' CLIP inside a single
    /// file: SD 1.x's `cond_stage_model.transformer.text_model.`, SDXL's
    /// `conditioner.embedders.0.transformer.text_model.`).
    public static func prefixed(_ prefix: String) -> Map { { [.whole(prefix + $0)] } }

    /// An OpenCLIP text tower (SD 2.x's `cond_stage_model.model.`) under
    /// transformers' CLIP names: `resblocks` for `encoder.layers`, q, k and v
    /// as the three row blocks of `attn.in_proj_*`, `ln_final` for the final
    /// LayerNorm, `positional_embedding` as a bare tensor, `text_projection`
    /// stored the other way round (OpenCLIP multiplies x · P; a Linear
    /// holds Pᵀ).
    public static func openCLIPSingleFile(prefix: String) -> Map {
        { key in
            let parts = key.split(separator: ".").map(String.init)
            switch parts.first {
            case "embeddings":
                return [.whole(prefix + (parts[1] == "token_embedding" ? "token_embedding.weight" : "positional_embedding"))]
            case "text_projection":
                return [.transposed(prefix + "text_projection")]
            case "final_layer_norm":
                return [.whole(prefix + "ln_final." + parts.dropFirst().joined(separator: "."))]
            case "encoder" where parts.count >= 5:
                let block = prefix + "transformer.resblocks.\(parts[2])."
                let leaf = parts.last!
                let projections = ["q_proj": 0, "k_proj": 1, "v_proj": 2]
                if parts[3] == "self_attn", let part = projections[parts[4]] {
                    return [.rows(part, of: 3, in: block + "attn.in_proj_" + leaf)]
                }
                let renamed = ["self_attn": "attn", "layer_norm1": "ln_1", "layer_norm2": "ln_2", "mlp": "mlp"]
                let inner = ["fc1": "c_fc", "fc2": "c_proj"]
                let module = parts[3...].dropLast().enumerated().map { index, name in
                    index == 0 ? renamed[name] ?? name : inner[name] ?? name
                }
                return [.whole(block + (module + [leaf]).joined(separator: "."))]
            default:
                return [.whole(prefix + key)]
            }
        }
    }

    /// diffusers UNet names → `model.diffusion_model.*`, given the block
    /// structure (layers per block and which blocks have attention).
    public static func unetSingleFile(layersPerBlock: Int, upBlockHasAttention: [Bool]) -> Map {
        { key in [.whole(unetOriginalName(key, layersPerBlock: layersPerBlock, upBlockHasAttention: upBlockHasAttention))] }
    }

    static func unetOriginalName(_ key: String, layersPerBlock: Int, upBlockHasAttention: [Bool]) -> String {
        let prefix = "model.diffusion_model."
        var parts = key.split(separator: ".").map(String.init)
        let stride = layersPerBlock + 1

        func resnetInner(_ rest: [String]) -> [String] {
            guard let first = rest.first else { return rest }
            let renamed: [String: [String]] = [
                "norm1": ["in_layers", "0"], "conv1": ["in_layers", "2"], "time_emb_proj": ["emb_layers", "1"],
                "norm2": ["out_layers", "0"], "conv2": ["out_layers", "3"], "conv_shortcut": ["skip_connection"],
            ]
            return (renamed[first] ?? [first]) + rest.dropFirst()
        }

        switch parts.first {
        case "time_embedding":
            let index = parts[1] == "linear_1" ? "0" : "2"
            parts = ["time_embed", index] + parts.dropFirst(2)
        case "add_embedding":  // SDXL's added conditioning MLP
            let index = parts[1] == "linear_1" ? "0" : "2"
            parts = ["label_emb", "0", index] + parts.dropFirst(2)
        case "conv_in":
            parts = ["input_blocks", "0", "0"] + parts.dropFirst()
        case "conv_norm_out":
            parts = ["out", "0"] + parts.dropFirst()
        case "conv_out":
            parts = ["out", "2"] + parts.dropFirst()
        case "down_blocks":
            let block = Int(parts[1])!, kind = parts[2], index = Int(parts[3])!
            let rest = Array(parts.dropFirst(4))
            switch kind {
            case "resnets": parts = ["input_blocks", "\(1 + block * stride + index)", "0"] + resnetInner(rest)
            case "attentions": parts = ["input_blocks", "\(1 + block * stride + index)", "1"] + rest
            default: parts = ["input_blocks", "\((block + 1) * stride)", "0", "op"] + rest.dropFirst()  // downsamplers.0.conv
            }
        case "mid_block":
            let kind = parts[1], index = Int(parts[2])!
            let rest = Array(parts.dropFirst(3))
            parts = kind == "attentions" ? ["middle_block", "1"] + rest
                : ["middle_block", index == 0 ? "0" : "2"] + resnetInner(rest)
        case "up_blocks":
            let block = Int(parts[1])!, kind = parts[2], index = Int(parts[3])!
            let rest = Array(parts.dropFirst(4))
            switch kind {
            case "resnets": parts = ["output_blocks", "\(block * stride + index)", "0"] + resnetInner(rest)
            case "attentions": parts = ["output_blocks", "\(block * stride + index)", "1"] + rest
            default:
                let slot = block < upBlockHasAttention.count && upBlockHasAttention[block] ? "2" : "1"
                parts = ["output_blocks", "\(block * stride + layersPerBlock)", slot] + rest  // …slot.conv.weight
            }
        default:
            break
        }
        return prefix + parts.joined(separator: ".")
    }

    /// diffusers VAE names → `first_stage_model.*`; decoder up blocks are
    /// numbered in reverse there.
    public static func vaeSingleFile(blocks: Int) -> Map {
        { key in [.whole("first_stage_model." + vaeOriginalName(key, blocks: blocks))] }
    }

    static func vaeOriginalName(_ key: String, blocks: Int) -> String {
        var parts = key.split(separator: ".").map(String.init)
        guard parts.count > 1, parts[0] == "encoder" || parts[0] == "decoder" else { return key }
        let side = parts[0]
        var rest = Array(parts.dropFirst())

        func resnetInner(_ r: [String]) -> [String] {
            r.first == "conv_shortcut" ? ["nin_shortcut"] + r.dropFirst() : r
        }
        func attentionInner(_ r: [String]) -> [String] {
            let renamed = ["group_norm": ["norm"], "to_q": ["q"], "to_k": ["k"], "to_v": ["v"], "to_out": ["proj_out"]]
            guard let first = r.first, let new = renamed[first] else { return r }
            return new + r.dropFirst(first == "to_out" ? 2 : 1)
        }

        switch rest.first {
        case "down_blocks", "up_blocks":
            let block = Int(rest[1])!
            let number = rest[0] == "up_blocks" ? blocks - 1 - block : block
            let level = rest[0] == "up_blocks" ? "up" : "down"
            let kind = rest[2]
            let inner = Array(rest.dropFirst(4))
            switch kind {
            case "resnets": rest = [level, "\(number)", "block", rest[3]] + resnetInner(inner)
            case "downsamplers": rest = [level, "\(number)", "downsample"] + inner
            default: rest = [level, "\(number)", "upsample"] + inner
            }
        case "mid_block":
            let kind = rest[1], index = rest[2]
            let inner = Array(rest.dropFirst(3))
            rest = kind == "attentions" ? ["mid", "attn_1"] + attentionInner(inner)
                : ["mid", index == "0" ? "block_1" : "block_2"] + resnetInner(inner)
        case "conv_norm_out":
            rest = ["norm_out"] + rest.dropFirst()
        default:
            break
        }
        parts = [side] + rest
        return parts.joined(separator: ".")
    }
}
