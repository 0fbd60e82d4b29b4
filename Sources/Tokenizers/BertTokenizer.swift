import Foundation

/// BERT's tokenizer: basic clean-up and split, WordPiece, `[CLS] … [SEP]`,
/// giving the ids `transformers`' BertTokenizer gives (uncased by default).
public final class BertTokenizer: Tokenizer {
    public let basic: BasicTokenizer
    public let wordPiece: WordPieceTokenizer
    public let clsID: Int32
    public let sepID: Int32
    public let padID: Int32
    private let tokens: [String]
    private let specials: SpecialTokenSplitter
    private let specialIDs: Set<Int32>

    public var vocabularySize: Int { tokens.count }

    public init(vocabulary: [String: Int32], basic: BasicTokenizer = BasicTokenizer(),
                unknownToken: String = "[UNK]", clsToken: String = "[CLS]", sepToken: String = "[SEP]",
                padToken: String = "[PAD]", maskToken: String = "[MASK]",
                source: String = "BERT vocabulary") throws {
        func id(_ token: String, _ role: String) throws -> Int32 {
            guard let id = vocabulary[token] else {
                throw TokenizerError("the \(role) token '\(token)' is not in the vocabulary", path: source)
            }
            return id
        }
        let unknownID = try id(unknownToken, "unknown")
        clsID = try id(clsToken, "classifier")
        sepID = try id(sepToken, "separator")
        padID = try id(padToken, "padding")
        self.basic = basic
        wordPiece = WordPieceTokenizer(vocabulary: vocabulary, unknownID: unknownID)
        tokens = try TokenTable.make(vocabulary, source: source)
        var special = [unknownToken: unknownID, clsToken: clsID, sepToken: sepID, padToken: padID]
        if let mask = vocabulary[maskToken] { special[maskToken] = mask }
        specials = SpecialTokenSplitter(special)
        specialIDs = Set(special.values)
    }

    /// The WordPiece ids of a text, without `[CLS]` and `[SEP]`.
    public func tokenize(_ text: String) -> [Int32] {
        specials.ids(of: text) { part, ids in
            for word in basic.words(in: part) { wordPiece.encode(word: word, into: &ids) }
        }
    }

    public func encode(_ text: String, maxLength: Int?) -> EncodedText {
        EncodedText(prefix: [clsID], content: tokenize(text), suffix: [sepID], maxLength: maxLength, padID: padID)
    }

    /// Joins the pieces (`##` continues a word) and, like the reference's
    /// WordPiece decoder, pulls `.`, `,`, `?` and `!` onto the word before.
    public func decode(_ ids: [Int32]) -> String {
        var text = ""
        var first = true
        for id in ids where !specialIDs.contains(id) {
            guard var token = token(for: id) else { continue }
            if !first {
                // By bytes: as Characters, "##" before a combining mark would not match.
                let prefix = wordPiece.continuingPrefix.utf8
                if token.utf8.starts(with: prefix) {
                    token = String(decoding: token.utf8.dropFirst(prefix.count), as: UTF8.self)
                } else {
                    token = " " + token
                }
            }
            first = false
            text += Self.cleanUp(token)
        }
        return text
    }

    private static let cleanUps = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
        (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ]

    private static func cleanUp(_ token: String) -> String {
        guard token.utf8.first == 0x20 else { return token }
        var token = token
        for (from, to) in cleanUps { token = PythonString.replace(token, from, with: to) }
        return token
    }

    public func token(for id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count, !tokens[Int(id)].isEmpty else { return nil }
        return tokens[Int(id)]
    }
}

extension BertTokenizer {
    /// Loads a `vocab.txt` (one token per line, the id is the line number),
    /// a `tokenizer.json` with a WordPiece model, or a folder holding either;
    /// the folder's `tokenizer_config.json` says whether to lower case.
    public convenience init(contentsOf url: URL, lowercase: Bool? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw TokenizerError("no such file or folder", url: url)
        }
        var file = url
        if isDirectory.boolValue {
            file = url.appendingPathComponent("vocab.txt")
            if !FileManager.default.fileExists(atPath: file.path) {
                file = url.appendingPathComponent("tokenizer.json")
                guard FileManager.default.fileExists(atPath: file.path) else {
                    throw TokenizerError("has neither vocab.txt nor tokenizer.json", url: url)
                }
            }
        }
        var options = BertOptions(folder: file.deletingLastPathComponent())
        if let lowercase { options = BertOptions(lowercase: lowercase) }
        let vocabulary: [String: Int32]
        if file.lastPathComponent.hasSuffix(".json") {
            vocabulary = try TokenizerJSON(contentsOf: file, expecting: "WordPiece").vocabulary()
        } else {
            vocabulary = try Self.readVocabularyText(file)
        }
        try self.init(vocabulary: vocabulary,
                      basic: BasicTokenizer(lowercase: options.lowercase, stripAccents: options.stripAccents,
                                            tokenizeChineseCharacters: options.tokenizeChineseCharacters),
                      source: file.path)
    }

    static func readVocabularyText(_ url: URL) throws -> [String: Int32] {
        let text = try readText(url)
        var vocabulary: [String: Int32] = [:]
        // Split on scalars: as Characters, "\r\n" would be one unit.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        vocabulary.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            // As in the reference: trailing whitespace is not part of the
            // token, and a token listed twice keeps its later id.
            var end = line.endIndex
            while end > line.startIndex, CharacterClasses.isWhitespace(line[line.index(before: end)]) {
                end = line.index(before: end)
            }
            vocabulary[String(String.UnicodeScalarView(line[..<end]))] = Int32(index)
        }
        guard vocabulary.keys.contains(where: { !$0.isEmpty }) else {
            throw TokenizerError("holds no tokens", url: url)
        }
        return vocabulary
    }
}

/// The casing options a BERT folder's `tokenizer_config.json` sets.
struct BertOptions {
    var lowercase = true
    var stripAccents: Bool?
    var tokenizeChineseCharacters = true

    init(lowercase: Bool) {
        self.lowercase = lowercase
    }

    init(folder: URL) {
        let url = folder.appendingPathComponent("tokenizer_config.json")
        guard let config = (try? readJSON(url)) as? [String: Any] else { return }
        lowercase = config["do_lower_case"] as? Bool ?? true
        stripAccents = config["strip_accents"] as? Bool
        tokenizeChineseCharacters = config["tokenize_chinese_chars"] as? Bool ?? true
    }
}
