import Foundation

/// The parts of a Hugging Face `tokenizer.json` the tokenizers here read:
/// the model's vocabulary (and merges, for BPE) and the added tokens.
struct TokenizerJSON {
    let url: URL
    let root: [String: Any]
    let model: [String: Any]

    init(contentsOf url: URL, expecting modelType: String) throws {
        self.url = url
        guard let root = try readJSON(url) as? [String: Any] else {
            throw TokenizerError("is not a JSON object", url: url)
        }
        guard let model = root["model"] as? [String: Any] else {
            throw TokenizerError("has no \"model\" object", url: url)
        }
        let type = model["type"] as? String
        // Older files leave the type out; the vocabulary's shape decides then.
        if let type, type != modelType {
            throw TokenizerError("holds a \(type) model, not \(modelType)", url: url)
        }
        self.root = root
        self.model = model
    }

    func vocabulary() throws -> [String: Int32] {
        guard let vocabulary = model["vocab"] as? [String: Any] else {
            throw TokenizerError("model.vocab is missing or not an object of token → id", url: url)
        }
        return try Self.vocabulary(vocabulary, source: url)
    }

    /// `model.merges`: either "left right" strings or [left, right] pairs.
    func merges() throws -> [(String, String)] {
        guard let list = model["merges"] as? [Any] else {
            throw TokenizerError("model.merges is missing or not a list", url: url)
        }
        return try list.enumerated().map { index, entry in
            if let pair = entry as? [String], pair.count == 2 { return (pair[0], pair[1]) }
            if let line = entry as? String {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty { return (String(parts[0]), String(parts[1])) }
            }
            throw TokenizerError("model.merges[\(index)] is not a pair of tokens", url: url)
        }
    }

    /// The special added tokens (content → id), matched in the raw text.
    var addedTokens: [String: Int32] {
        var tokens: [String: Int32] = [:]
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let content = entry["content"] as? String, let id = (entry["id"] as? NSNumber)?.int32Value,
                  entry["special"] as? Bool ?? true else { continue }
            tokens[content] = id
        }
        return tokens
    }

    static func vocabulary(_ dictionary: [String: Any], source: URL) throws -> [String: Int32] {
        guard !dictionary.isEmpty else { throw TokenizerError("the vocabulary is empty", url: source) }
        var vocabulary = [String: Int32](minimumCapacity: dictionary.count)
        for (token, value) in dictionary {
            guard let number = value as? NSNumber, let id = Int32(exactly: number.doubleValue), id >= 0 else {
                throw TokenizerError("the id of token '\(token)' is not a non-negative integer", url: source)
            }
            vocabulary[token] = id
        }
        return vocabulary
    }
}
