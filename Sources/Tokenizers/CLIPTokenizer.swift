import Foundation

/// The tokenizer of Stable Diffusion's CLIP text encoder (byte-level BPE
/// with `</w>` word ends), giving the ids `transformers`' CLIPTokenizer
/// gives for openai/clip-vit-large-patch14.
///
/// Encoding with a length does what the SD pipeline does: BOS, the text's
/// ids cut to fit, EOS last, then padding (with EOS for SD 1.x).
public final class CLIPTokenizer: Tokenizer {
    /// The sequence length of SD 1.x's text encoder.
    public static let defaultMaxLength = 77

    public let bosID: Int32
    public let eosID: Int32
    public let padID: Int32
    let model: BytePairEncoding
    private let specials: SpecialTokenSplitter
    private let specialIDs: Set<Int32>
    private let cache = WordCache()

    public var vocabularySize: Int { model.tokens.count }

    /// - Parameters:
    ///   - vocabulary: token → id.
    ///   - merges: in rank order.
    ///   - addedTokens: tokens recognised in the raw text as a whole (the
    ///     special tokens); BOS, EOS, padding and unknown are always among them.
    ///   - source: the file named in errors.
    public init(vocabulary: [String: Int32], merges: [(String, String)],
                bosToken: String = "<|startoftext|>", eosToken: String = "<|endoftext|>",
                padToken: String = "<|endoftext|>", unknownToken: String = "<|endoftext|>",
                addedTokens: [String: Int32] = [:], source: String = "CLIP vocabulary") throws {
        model = try BytePairEncoding(vocabulary: vocabulary, merges: merges, endOfWordSuffix: "</w>",
                                     unknownToken: unknownToken, source: source)
        func id(_ token: String, _ role: String) throws -> Int32 {
            guard let id = vocabulary[token] ?? addedTokens[token] else {
                throw TokenizerError("the \(role) token '\(token)' is not in the vocabulary", path: source)
            }
            return id
        }
        bosID = try id(bosToken, "beginning-of-text")
        eosID = try id(eosToken, "end-of-text")
        padID = try id(padToken, "padding")
        var special = addedTokens
        special[bosToken] = bosID
        special[eosToken] = eosID
        special[padToken] = padID
        special[unknownToken] = model.unknownID
        specials = SpecialTokenSplitter(special)
        specialIDs = Set(special.values)
    }

    /// The ids of a text without BOS and EOS, nothing truncated.
    public func tokenize(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        for segment in specials.split(text) {
            switch segment {
            case .special(let id):
                ids.append(id)
            case .text(let part):
                for word in CLIPPreTokenizer.words(in: part) {
                    if word.count < 24 {
                        ids += cache.ids(for: String(word)!) { model.encode(word: word) }
                    } else {
                        ids += model.encode(word: word)
                    }
                }
            }
        }
        return ids
    }

    public func encode(_ text: String, maxLength: Int?) -> EncodedText {
        EncodedText(prefix: [bosID], content: tokenize(text), suffix: [eosID], maxLength: maxLength, padID: padID)
    }

    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids where !specialIDs.contains(id) {
            guard let token = token(for: id) else { continue }
            ByteLevelAlphabet.appendBytes(of: token, to: &bytes)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return PythonString.strip(PythonString.replace(text, model.endOfWordSuffix, with: " "))
    }

    public func token(for id: Int32) -> String? {
        guard id >= 0, Int(id) < model.tokens.count, !model.tokens[Int(id)].isEmpty else { return nil }
        return model.tokens[Int(id)]
    }
}
