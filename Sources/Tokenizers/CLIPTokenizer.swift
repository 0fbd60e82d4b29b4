import Foundation

/// The tokenizer of Stable Diffusion's CLIP text encoder (byte-level BPE
/// with `</w>` word ends), giving the ids `transformers`' CLIPTokenizer
/// gives for openai/clip-vit-large-patch14.
///
/// Encoding with a length does what the SD pipeline does: BOS, the text's
/// ids cut to fit, EOS last, then padding (with EOS for SD 1.x).
public final class CLIPTokenizer: Tokenizer {
    /// How text is cleaned before the split into words. The two
    /// `transformers` generations differ here, and only here.
    public enum TextCleanup: String, Sendable, CaseIterable {
        /// transformers ≥ 5's CLIPTokenizer (the `tokenizers` backend, as
        /// transformers 4's CLIPTokenizerFast): NFC and lower case only.
        case fast
        /// transformers 4's Python CLIPTokenizer without `ftfy`: also drops
        /// control, format and unassigned characters (e.g. the zero-width
        /// joiner inside emoji sequences), makes each CJK ideograph a word of
        /// its own and lower-cases word-final Σ to ς. Plain English prompts
        /// give the same ids either way.
        case slow
    }

    /// The sequence length of SD 1.x's text encoder.
    public static let defaultMaxLength = 77

    public let bosID: Int32
    public let eosID: Int32
    public let padID: Int32
    public let cleanup: TextCleanup
    let model: BytePairEncoding
    /// Tokens recognised whole in the text (BOS, EOS, padding, unknown, added).
    private let specialTokens: [String: Int32]
    private let specials: SpecialTokenSplitter
    private let specialIDs: Set<Int32>
    /// The slow clean-up looks the special-token words up whole.
    private let markerIDs: [String: Int32]
    private let cache = WordCache()

    public var vocabularySize: Int { model.tokens.count }

    /// - Parameters:
    ///   - vocabulary: token → id.
    ///   - merges: in rank order.
    ///   - addedTokens: tokens recognised in the raw text as a whole (the
    ///     special tokens); BOS, EOS, padding and unknown are always among them.
    ///   - source: the file named in errors.
    public convenience init(vocabulary: [String: Int32], merges: [(String, String)],
                            bosToken: String = "<|startoftext|>", eosToken: String = "<|endoftext|>",
                            padToken: String = "<|endoftext|>", unknownToken: String = "<|endoftext|>",
                            addedTokens: [String: Int32] = [:], cleanup: TextCleanup = .fast,
                            source: String = "CLIP vocabulary") throws {
        let model = try BytePairEncoding(vocabulary: vocabulary, merges: merges, endOfWordSuffix: "</w>",
                                         unknownToken: unknownToken, source: source)
        func id(_ token: String, _ role: String) throws -> Int32 {
            guard let id = vocabulary[token] ?? addedTokens[token] else {
                throw TokenizerError("the \(role) token '\(token)' is not in the vocabulary", path: source)
            }
            return id
        }
        var special = addedTokens
        special[bosToken] = try id(bosToken, "beginning-of-text")
        special[eosToken] = try id(eosToken, "end-of-text")
        special[padToken] = try id(padToken, "padding")
        special[unknownToken] = model.unknownID
        var markers: [String: Int32] = [:]
        for marker in CLIPPreTokenizer.markers { markers[marker] = vocabulary[marker] ?? addedTokens[marker] ?? model.unknownID }
        self.init(model: model, bos: special[bosToken]!, eos: special[eosToken]!, pad: special[padToken]!,
                  specials: special, markers: markers, cleanup: cleanup)
    }

    private init(model: BytePairEncoding, bos: Int32, eos: Int32, pad: Int32, specials: [String: Int32],
                 markers: [String: Int32], cleanup: TextCleanup) {
        self.model = model
        bosID = bos
        eosID = eos
        padID = pad
        specialTokens = specials
        self.specials = SpecialTokenSplitter(specials)
        specialIDs = Set(specials.values)
        markerIDs = markers
        self.cleanup = cleanup
    }

    private init(sibling: CLIPTokenizer, cleanup: TextCleanup, pad: (token: String, id: Int32)? = nil) {
        model = sibling.model
        bosID = sibling.bosID
        eosID = sibling.eosID
        if let pad {
            padID = pad.id
            specialTokens = sibling.specialTokens.merging([pad.token: pad.id]) { $1 }
            specials = SpecialTokenSplitter(specialTokens)
            specialIDs = Set(specialTokens.values)
        } else {
            padID = sibling.padID
            specialTokens = sibling.specialTokens
            specials = sibling.specials
            specialIDs = sibling.specialIDs
        }
        markerIDs = sibling.markerIDs
        self.cleanup = cleanup
    }

    /// The same vocabulary with another clean-up (the vocabulary is shared).
    public func with(cleanup: TextCleanup) -> CLIPTokenizer {
        cleanup == self.cleanup ? self : CLIPTokenizer(sibling: self, cleanup: cleanup)
    }

    /// The same vocabulary padding with `token` (SD 2.x's OpenCLIP tokenizer
    /// pads with "!" where CLIP's pads with its end token). Like every
    /// special token, and as transformers' tokenizer saved with such a model
    /// does, it is then also recognised whole in the text.
    public func padding(with token: String) throws -> CLIPTokenizer {
        guard let id = model.ids[token] else {
            throw TokenizerError("has no padding token '\(token)' in its vocabulary", path: "tokenizer")
        }
        return specialTokens[token] == id && padID == id ? self
            : CLIPTokenizer(sibling: self, cleanup: cleanup, pad: (token, id))
    }

    /// The id of a vocabulary entry (`",</w>"`), if the vocabulary has it.
    public func id(ofToken token: String) -> Int32? { model.ids[token] }

    /// The ids of a text without BOS and EOS, nothing truncated.
    public func tokenize(_ text: String) -> [Int32] {
        specials.ids(of: text) { part, ids in
            for word in CLIPPreTokenizer.words(in: part, cleanup: cleanup) {
                if word.count < 24 {
                    let key = String(word)!
                    if cleanup == .slow, let id = markerIDs[key] {
                        ids.append(id)
                        continue
                    }
                    ids += cache.ids(for: key) { model.encode(word: word) }
                } else {
                    ids += model.encode(word: word)
                }
            }
        }
    }

    public func encode(_ text: String, maxLength: Int?) -> EncodedText {
        EncodedText(prefix: [bosID], content: tokenize(text), suffix: [eosID], maxLength: maxLength, padID: padID)
    }

    /// Like the reference: the tokens' bytes as UTF-8 (invalid sequences
    /// replaced), each `</w>` a space, stripped at both ends.
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
