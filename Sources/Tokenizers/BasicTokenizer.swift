import Foundation

/// BERT's text clean-up and word split before WordPiece, as Hugging Face
/// `tokenizers`' BertNormalizer + BertPreTokenizer (what `transformers`'
/// BertTokenizer runs): drop NUL, U+FFFD and control/format/private-use
/// characters, turn whitespace into spaces, put spaces around CJK
/// ideographs, strip accents (NFD, then drop nonspacing marks) and lower
/// case; then split on whitespace, each punctuation character a word of
/// its own.
///
/// Lower casing goes scalar by scalar with no context, so a word-final Σ
/// becomes σ, not ς (the slow Python tokenizer gives ς; the backend every
/// current `transformers` uses gives σ).
public struct BasicTokenizer: Sendable {
    public var lowercase: Bool
    public var stripAccents: Bool
    public var tokenizeChineseCharacters: Bool

    /// - Parameter stripAccents: nil strips accents exactly when lower casing, as BERT does.
    public init(lowercase: Bool = true, stripAccents: Bool? = nil, tokenizeChineseCharacters: Bool = true) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.tokenizeChineseCharacters = tokenizeChineseCharacters
    }

    public func words(in text: some StringProtocol) -> [Substring] {
        let normalized = normalize(text)
        var words: [Substring] = []
        let scalars = normalized.unicodeScalars
        var wordStart: String.Index?
        var i = scalars.startIndex
        while i != scalars.endIndex {
            let c = scalars[i]
            let next = scalars.index(after: i)
            if CharacterClasses.isWhitespace(c) || CharacterClasses.isBertPunctuation(c) {
                if let start = wordStart { words.append(normalized[start ..< i]) }
                wordStart = nil
                if !CharacterClasses.isWhitespace(c) { words.append(normalized[i ..< next]) }
            } else if wordStart == nil {
                wordStart = i
            }
            i = next
        }
        if let start = wordStart { words.append(normalized[start...]) }
        return words
    }

    public func normalize(_ text: some StringProtocol) -> String {
        var cleaned = String.UnicodeScalarView()
        var ascii = true
        for c in text.unicodeScalars {
            let v = c.value
            if v == 0 || v == 0xFFFD || CharacterClasses.isBertControl(c) { continue }
            if v == 0x09 || v == 0x0A || v == 0x0D || CharacterClasses.isWhitespace(c) {
                cleaned.append(" ")
            } else if tokenizeChineseCharacters, CharacterClasses.isChineseCharacter(c) {
                cleaned.append(" ")
                cleaned.append(c)
                cleaned.append(" ")
                ascii = false
            } else {
                cleaned.append(c)
                if v >= 0x80 { ascii = false }
            }
        }
        var text = String(cleaned)
        if stripAccents, !ascii {
            var stripped = String.UnicodeScalarView()
            for c in Self.decomposed(text).unicodeScalars where !CharacterClasses.isBertNonspacingMark(c) {
                stripped.append(c)
            }
            text = String(stripped)
        }
        if lowercase {
            var lowered = String.UnicodeScalarView()
            for c in text.unicodeScalars { CharacterClasses.appendLowercased(c, to: &lowered) }
            text = String(lowered)
        }
        return text
    }

    /// NFD as the reference's normalisation tables do it, which leave
    /// U+11938 (DIVES AKURU VOWEL SIGN O, Unicode 13) whole. It is a starter,
    /// so decomposing around it is the same as decomposing the whole text.
    private static func decomposed(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{11938}") else { return text.decomposedStringWithCanonicalMapping }
        return text.unicodeScalars.split(separator: "\u{11938}", omittingEmptySubsequences: false)
            .map { String(String.UnicodeScalarView($0)).decomposedStringWithCanonicalMapping }
            .joined(separator: "\u{11938}")
    }
}
