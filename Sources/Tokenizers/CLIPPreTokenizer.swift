import Foundation

/// CLIP's text clean-up and word split, as `transformers`' CLIPTokenizer
/// (tokenizers backend) does it: NFC, lower case, then the CLIP pattern
///
///     <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
///
/// keeping the matches and dropping the whitespace between them. The
/// pattern is matched here by hand: at each position the first alternative
/// that matches wins, exactly as the regex engine decides.
///
/// The backend then applies GPT-2's byte-level split to every match. That
/// changes only the two special-token alternatives, which fall apart into
/// `<|`, the word and `|>`, so a lower-cased `<|ENDOFTEXT|>` in a prompt
/// is three ordinary words (a literal `<|endoftext|>` never gets here: the
/// special-token split takes it first).
///
/// Without `ftfy` the reference does no other clean-up (no HTML unescaping,
/// no control-character removal), and neither does this.
@_spi(Testing) public enum CLIPPreTokenizer {
    static func words(in text: Substring) -> [Substring.UTF8View] {
        let normalized = normalize(text)
        var words: [Substring.UTF8View] = []
        let scalars = normalized.unicodeScalars
        var i = scalars.startIndex
        let end = scalars.endIndex

        func emit(_ from: String.UnicodeScalarView.Index, _ to: String.UnicodeScalarView.Index) {
            words.append(normalized[from ..< to].utf8)
        }

        while i != end {
            let c = scalars[i]
            if CharacterClasses.isWhitespace(c) {
                i = scalars.index(after: i)
                continue
            }
            if c == "<", let (wordStart, wordEnd, after) = specialMarker(scalars, at: i) {
                emit(i, wordStart)
                emit(wordStart, wordEnd)
                emit(wordEnd, after)
                i = after
                continue
            }
            if c == "'", let after = contraction(scalars, at: i) {
                emit(i, after)
                i = after
                continue
            }
            var j = scalars.index(after: i)
            if CharacterClasses.isLetter(c) {
                while j != end, CharacterClasses.isLetter(scalars[j]) { j = scalars.index(after: j) }
            } else if !CharacterClasses.isNumber(c) {
                while j != end {
                    let d = scalars[j]
                    if CharacterClasses.isWhitespace(d) || CharacterClasses.isLetter(d) || CharacterClasses.isNumber(d) { break }
                    j = scalars.index(after: j)
                }
            }
            emit(i, j)
            i = j
        }
        return words
    }

    /// NFC, then lower case scalar by scalar.
    public static func normalize(_ text: Substring) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        let composed = String(text).precomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        for scalar in composed.unicodeScalars { CharacterClasses.appendLowercased(scalar, to: &out) }
        return String(out)
    }

    private static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }

    /// The end of `'s`, `'t`, … starting at `i` (the alternatives in the
    /// pattern's order), or nil.
    private static func contraction(_ scalars: String.UnicodeScalarView, at i: String.UnicodeScalarView.Index)
        -> String.UnicodeScalarView.Index? {
        let rest = scalars[scalars.index(after: i)...]
        for suffix in contractions where rest.starts(with: suffix) {
            return scalars.index(i, offsetBy: 1 + suffix.count)
        }
        return nil
    }

    private static let markers: [[Unicode.Scalar]] = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }

    /// For `<|startoftext|>` or `<|endoftext|>` at `i`: where its word
    /// starts and ends, and the index after the closing `|>`.
    private static func specialMarker(_ scalars: String.UnicodeScalarView, at i: String.UnicodeScalarView.Index)
        -> (String.UnicodeScalarView.Index, String.UnicodeScalarView.Index, String.UnicodeScalarView.Index)? {
        for marker in markers where scalars[i...].starts(with: marker) {
            let wordStart = scalars.index(i, offsetBy: 2)
            let wordEnd = scalars.index(i, offsetBy: marker.count - 2)
            return (wordStart, wordEnd, scalars.index(wordEnd, offsetBy: 2))
        }
        return nil
    }
}
