import Foundation

/// Where a CLIP vocabulary comes from: a diffusers `tokenizer/` folder
/// (`vocab.json` + `merges.txt`, or the `tokenizer.json` transformers ≥ 5
/// writes), or the copy sdgen ships for single-file checkpoints.
extension CLIPTokenizer {
    /// Loads from a folder (a diffusers model folder, its `tokenizer/`
    /// folder), a `vocab.json` (with `merges.txt` beside it) or a
    /// `tokenizer.json`.
    public convenience init(contentsOf url: URL, cleanup: TextCleanup = .fast) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw TokenizerError("no such file or folder", url: url)
        }
        var file = url
        if isDirectory.boolValue {
            var folder = url
            let nested = url.appendingPathComponent("tokenizer", isDirectory: true)
            if FileManager.default.fileExists(atPath: nested.path) { folder = nested }
            file = folder.appendingPathComponent("vocab.json")
            if !FileManager.default.fileExists(atPath: file.path) {
                file = folder.appendingPathComponent("tokenizer.json")
                guard FileManager.default.fileExists(atPath: file.path) else {
                    throw TokenizerError("has neither vocab.json + merges.txt nor tokenizer.json", url: folder)
                }
            }
        }
        let folder = file.deletingLastPathComponent()
        let names = try SpecialTokenNames(folder: folder)

        if file.lastPathComponent.hasSuffix("tokenizer.json") {
            let json = try TokenizerJSON(contentsOf: file, expecting: "BPE")
            if let suffix = json.model["end_of_word_suffix"] as? String, suffix != "</w>" {
                throw TokenizerError("end_of_word_suffix is '\(suffix)', not CLIP's '</w>'", url: file)
            }
            try self.init(vocabulary: try json.vocabulary(), merges: try json.merges(), names: names,
                          addedTokens: json.addedTokens, cleanup: cleanup, source: file.path)
        } else {
            let merges = folder.appendingPathComponent("merges.txt")
            guard FileManager.default.fileExists(atPath: merges.path) else {
                throw TokenizerError("merges.txt is missing next to \(file.lastPathComponent)", url: folder)
            }
            let vocabulary = try Self.readVocabularyJSON(file)
            try self.init(vocabulary: vocabulary, merges: try Self.readMerges(try readText(merges), source: merges.path),
                          names: names, addedTokens: [:], cleanup: cleanup, source: merges.path)
        }
    }

    private convenience init(vocabulary: [String: Int32], merges: [(String, String)], names: SpecialTokenNames,
                             addedTokens: [String: Int32], cleanup: TextCleanup, source: String) throws {
        try self.init(vocabulary: vocabulary, merges: merges,
                      bosToken: names.bos ?? "<|startoftext|>", eosToken: names.eos ?? "<|endoftext|>",
                      padToken: names.pad ?? "<|endoftext|>", unknownToken: names.unk ?? "<|endoftext|>",
                      addedTokens: addedTokens, cleanup: cleanup, source: source)
    }

    /// CLIP's vocabulary as sdgen ships it (see Resources/README.md): the
    /// 48 894 merges openai/clip-vit-large-patch14 uses, with the vocabulary
    /// derived from them. Loaded once per process.
    public static func bundled(cleanup: TextCleanup = .fast) throws -> CLIPTokenizer {
        try bundledTokenizer.get().with(cleanup: cleanup)
    }

    private static let bundledTokenizer: Result<CLIPTokenizer, any Error> = Result {
        let url = try BundledResources.url(for: "clip-merges.txt.gz")
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError("cannot be read (\(error.localizedDescription))", url: url)
        }
        let text = try Gzip.decompress([UInt8](data), source: url.path)
        guard let string = String(validating: text, as: UTF8.self) else {
            throw TokenizerError("is not UTF-8 text", url: url)
        }
        let merges = try readMerges(string, source: url.path)
        return try CLIPTokenizer(vocabulary: derivedVocabulary(merges: merges), merges: merges, source: url.path)
    }

    /// The CLIP vocabulary as OpenAI built it from the merges: the 256 byte
    /// characters, the same with `</w>`, every merge's result in rank order,
    /// then `<|startoftext|>` and `<|endoftext|>` (49 408 for 48 894 merges).
    public static func derivedVocabulary(merges: [(String, String)]) -> [String: Int32] {
        var tokens = ByteLevelAlphabet.vocabularyOrder.map { ByteLevelAlphabet.string(for: $0) }
        tokens += tokens.map { $0 + "</w>" }
        tokens += merges.map { $0.0 + $0.1 }
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        var vocabulary = [String: Int32](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() where vocabulary[token] == nil { vocabulary[token] = Int32(id) }
        return vocabulary
    }

    /// `merges.txt`: an optional `#version` line, then one merge per line,
    /// the two tokens separated by one space.
    static func readMerges(_ text: String, source: String) throws -> [(String, String)] {
        var merges: [(String, String)] = []
        merges.reserveCapacity(50_000)
        // Split on scalars: as Characters, "\r\n" would be one unit.
        for (index, scalars) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Substring(scalars.last == "\r" ? scalars.dropLast() : scalars)
            if line.isEmpty || (index == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError("line \(index + 1) is not two tokens separated by one space: '\(line.prefix(60))'",
                                     path: source)
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        guard !merges.isEmpty else { throw TokenizerError("holds no merges", path: source) }
        return merges
    }

    static func readVocabularyJSON(_ url: URL) throws -> [String: Int32] {
        let object = try readJSON(url)
        guard let dictionary = object as? [String: Any] else {
            throw TokenizerError("is not a JSON object of token → id", url: url)
        }
        return try TokenizerJSON.vocabulary(dictionary, source: url)
    }
}

/// The special-token names a tokenizer folder declares in
/// `special_tokens_map.json` or `tokenizer_config.json` (SD 2.x, for one,
/// pads with "!" rather than EOS).
struct SpecialTokenNames {
    var bos: String?
    var eos: String?
    var pad: String?
    var unk: String?

    init(folder: URL) throws {
        for name in ["tokenizer_config.json", "special_tokens_map.json"] {
            let url = folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            guard let config = try readJSON(url) as? [String: Any] else {
                throw TokenizerError("is not a JSON object", url: url)
            }
            func token(_ key: String) -> String? {
                if let s = config[key] as? String { return s }
                if let d = config[key] as? [String: Any], let s = d["content"] as? String { return s }
                return nil
            }
            bos = bos ?? token("bos_token")
            eos = eos ?? token("eos_token")
            pad = pad ?? token("pad_token")
            unk = unk ?? token("unk_token")
        }
    }
}

func readText(_ url: URL) throws -> String {
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
        throw TokenizerError("cannot be read (\(error.localizedDescription))", url: url)
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw TokenizerError("is not UTF-8 text", url: url)
    }
    return text
}

func readJSON(_ url: URL) throws -> Any {
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
        throw TokenizerError("cannot be read (\(error.localizedDescription))", url: url)
    }
    do {
        return try JSONSerialization.jsonObject(with: data)
    } catch {
        throw TokenizerError("is not valid JSON", url: url)
    }
}
