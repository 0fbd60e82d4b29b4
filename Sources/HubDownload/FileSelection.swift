/// Which files of a diffusers repository the text-to-image pipeline needs,
/// chosen by rule so any Stable Diffusion 1.x-shaped repository works:
/// - `model_index.json`;
/// - `scheduler/scheduler_config.json`;
/// - every file of `tokenizer/` (vocab.json, merges.txt, tokenizer_config.json,
///   special_tokens_map.json, or transformers 5's tokenizer.json), and of
///   `tokenizer_2/` where the repository has one (SDXL);
/// - for `unet`, `text_encoder`, `vae` and, where present, `text_encoder_2`
///   (SDXL): `config.json` and one weights file,
///   `<base>.fp16.safetensors` where the repository has it (half the bytes;
///   the CPU converts to f32 at load), else `<base>.safetensors`, with the
///   base names the loader reads (`diffusion_pytorch_model`, `model`).
/// Never pickles (`.bin`, `.ckpt`), other variants (`.non_ema`, `.ema`),
/// flax/onnx files, single-file checkpoints at the root, or the
/// safety_checker and feature_extractor.
///
/// A single diffusers model's repository (no `model_index.json`;
/// `config.json` and `diffusion_pytorch_model.*` at the root, as
/// `madebyollin/taesd`) gets its config and safetensors, `config.json` last.
public enum FileSelection {
    /// The networks that carry weights, with their weights' base file names.
    public static let weightedComponents: [(folder: String, bases: [String])] = [
        ("unet", ["diffusion_pytorch_model"]),
        ("text_encoder", ["model"]),
        ("vae", ["diffusion_pytorch_model"]),
    ]
    /// SDXL's second text encoder and its tokenizer, fetched when the repository has them.
    public static let optionalComponents: [(folder: String, bases: [String])] = [("text_encoder_2", ["model"])]
    static let tokenizerFolders = ["tokenizer", "tokenizer_2"]
    static let tokenizerExtensions = ["json", "txt", "model"]

    public enum Precision: String, Sendable, CaseIterable {
        /// The `.fp16` variant where present (the default: half the download).
        case fp16
        /// The full-precision files only.
        case fp32
    }

    /// The files to fetch, `model_index.json` last (a folder holds it only once
    /// everything else arrived), or an error naming what the repository lacks.
    public static func select(_ entries: [RepositoryEntry], repository: HubRepository,
                              precision: Precision = .fp16) throws(HubError) -> [RepositoryEntry] {
        var byPath: [String: RepositoryEntry] = [:]
        for entry in entries { byPath[entry.path] = entry }
        func fail(_ reason: String) -> HubError { .notDiffusersRepository(repository: repository.id, reason: reason) }

        if byPath["model_index.json"] == nil, let config = byPath["config.json"],
           entries.contains(where: { $0.path.hasPrefix("diffusion_pytorch_model.") }) {
            return [try weightsFile(in: "", bases: ["diffusion_pytorch_model"], entries, byPath, precision, fail), config]
        }
        guard let index = byPath["model_index.json"] else { throw fail("no model_index.json") }
        guard let scheduler = byPath["scheduler/scheduler_config.json"] else {
            throw fail("no scheduler/scheduler_config.json")
        }
        var chosen: [RepositoryEntry] = [scheduler]

        let tokenizer = entries.filter { entry in
            let parts = entry.path.split(separator: "/")
            return parts.count == 2 && tokenizerFolders.contains(String(parts[0]))
                && tokenizerExtensions.contains(where: { parts[1].hasSuffix(".\($0)") })
        }
        guard tokenizer.contains(where: { $0.path.hasPrefix("tokenizer/") }) else { throw fail("no tokenizer/ files") }
        chosen += tokenizer.sorted { $0.path < $1.path }

        let present = optionalComponents.filter { byPath["\($0.folder)/config.json"] != nil }
        for (folder, bases) in weightedComponents + present {
            guard let config = byPath["\(folder)/config.json"] else { throw fail("no \(folder)/config.json") }
            chosen.append(config)
            let weights = try weightsFile(in: folder, bases: bases, entries, byPath, precision, fail)
            chosen.append(weights)
        }
        return chosen + [index]
    }

    /// A component's weights: `<base>.fp16.safetensors` where wanted and
    /// present, else `<base>.safetensors`; an error naming what was there.
    private static func weightsFile(in folder: String, bases: [String], _ entries: [RepositoryEntry],
                                    _ byPath: [String: RepositoryEntry], _ precision: Precision,
                                    _ fail: (String) -> HubError) throws(HubError) -> RepositoryEntry {
        let prefix = folder.isEmpty ? "" : "\(folder)/"
        let names = bases.flatMap { base in
            precision == .fp16 ? ["\(base).fp16.safetensors", "\(base).safetensors"] : ["\(base).safetensors"]
        }
        if let weights = names.lazy.compactMap({ byPath[prefix + $0] }).first { return weights }
        let present = entries.filter { $0.path.hasPrefix(prefix) && !$0.path.dropFirst(prefix.count).contains("/")
                                       && $0.path != "\(prefix)config.json" }
            .map { String($0.path.dropFirst(prefix.count)) }.sorted()
        let found = present.isEmpty ? "nothing" : present.joined(separator: ", ")
        let wanted = names.map { prefix + $0 }.joined(separator: " or ")
        throw fail("no \(wanted) (found: \(found)); sdgen reads safetensors only")
    }
}
