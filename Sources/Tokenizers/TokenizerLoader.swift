import Foundation

/// The three tokenizer families.
public enum TokenizerKind: String, CaseIterable, Sendable {
    case clip
    case bert
    case sentencepiece
}

/// Picks and loads a tokenizer by what a folder or file holds, so callers
/// (bert-bench, the text encoders) need not know which family they get.
public enum TokenizerLoader {
    /// What a path holds: a `.model` file or a folder with `spiece.model` is
    /// SentencePiece; `vocab.txt` is BERT; `vocab.json`/`merges.txt` is
    /// CLIP; a `tokenizer.json` says itself (BPE → CLIP, WordPiece → BERT).
    /// A model folder's `tokenizer/` subfolder is looked into.
    public static func kind(of url: URL) throws -> TokenizerKind {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw TokenizerError("no such file or folder", url: url)
        }
        if !isDirectory.boolValue {
            let name = url.lastPathComponent
            if name.hasSuffix(".model") { return .sentencepiece }
            if name.hasSuffix(".txt") { return name == "merges.txt" ? .clip : .bert }
            if name.hasSuffix("tokenizer.json") { return try kindOfTokenizerJSON(url) }
            if name.hasSuffix(".json") { return .clip }
            throw TokenizerError("is not a tokenizer file (.model, vocab.txt, vocab.json or tokenizer.json)", url: url)
        }
        let has = { (name: String) in FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) }
        if has("spiece.model") { return .sentencepiece }
        if has("vocab.txt") { return .bert }
        if has("vocab.json") || has("merges.txt") { return .clip }
        if has("tokenizer.json") { return try kindOfTokenizerJSON(url.appendingPathComponent("tokenizer.json")) }
        if has("tokenizer") { return try kind(of: url.appendingPathComponent("tokenizer", isDirectory: true)) }
        let models = (try? FileManager.default.contentsOfDirectory(atPath: url.path))?.filter { $0.hasSuffix(".model") } ?? []
        if !models.isEmpty { return .sentencepiece }
        throw TokenizerError("holds no tokenizer (spiece.model, vocab.txt, vocab.json + merges.txt or tokenizer.json)", url: url)
    }

    /// Loads the tokenizer at `url`, of `kind` or of the kind the path holds.
    /// CLIP with no path is the bundled vocabulary.
    public static func load(_ kind: TokenizerKind? = nil, from url: URL?,
                            clipCleanup: CLIPTokenizer.TextCleanup = .fast) throws -> any Tokenizer {
        guard let url else {
            switch kind ?? .clip {
            case .clip: return try CLIPTokenizer.bundled(cleanup: clipCleanup)
            case .bert: throw TokenizerError("the BERT tokenizer needs a vocab.txt (or a folder holding one)")
            case .sentencepiece: throw TokenizerError("the SentencePiece tokenizer needs a .model file")
            }
        }
        switch try kind ?? self.kind(of: url) {
        case .clip: return try CLIPTokenizer(contentsOf: url, cleanup: clipCleanup)
        case .bert: return try BertTokenizer(contentsOf: url)
        case .sentencepiece: return try SentencePieceTokenizer(contentsOf: url)
        }
    }

    private static func kindOfTokenizerJSON(_ url: URL) throws -> TokenizerKind {
        guard let root = try readJSON(url) as? [String: Any], let model = root["model"] as? [String: Any] else {
            throw TokenizerError("has no \"model\" object", url: url)
        }
        switch model["type"] as? String {
        case "BPE": return .clip
        case "WordPiece": return .bert
        case let type: throw TokenizerError("holds a \(type ?? "untyped") model; sdgen reads BPE (CLIP) and WordPiece (BERT)", url: url)
        }
    }
}
