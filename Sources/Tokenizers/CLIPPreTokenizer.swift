import Foundation

/// CLIP's text clean-up and word split. Both `transformers` CLIP tokenizers
/// split with the pattern
///
///     <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
///
/// keeping the matches and dropping the whitespace between them; it is
/// matched here by hand: at each position the first alternative that
/// matches wins, exactly as a regex engine decides. They differ in the
/// clean-up before it (see `CLIPTokenizer.TextCleanup`) and in what becomes
/// of the two special-token alternatives:
///
/// - fast (`tokenizers`): NFC, then lower case. The backend then applies
///   GPT-2's byte-level split to every match, which changes only the two
///   special-token alternatives: they fall apart into `<|`, the word and
///   `|>`, so a lower-cased `<|ENDOFTEXT|>` is three ordinary words.
/// - slow (transformers 4's Python class, without `ftfy`): BERT's
///   BasicTokenizer without accent stripping or punctuation splitting (drop
///   control, format, private-use and unassigned characters, whitespace to
///   spaces, spaces around CJK ideographs, NFC, Python's `str.lower` per
///   whitespace-separated word). A match of a special-token alternative is
///   that special token.
///
/// (A literal `<|endoftext|>` in the raw text never gets here in either: the
/// special-token split takes it first.) Neither does HTML unescaping: that
/// needs `ftfy`, which the references are run without.
@_spi(Testing) public enum CLIPPreTokenizer {
    /// The words of a text, UTF-8, ready for byte-level BPE. In the slow
    /// clean-up a word may be one of `markers`, to be looked up whole.
    static func words(in text: Substring, cleanup: CLIPTokenizer.TextCleanup) -> [Substring.UTF8View] {
        let normalized = cleanup == .fast ? normalize(text) : slowClean(text)
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
            if c == "<", let (wordStart, wordEnd, after) = marker(scalars, at: i) {
                if cleanup == .fast {
                    emit(i, wordStart)
                    emit(wordStart, wordEnd)
                    emit(wordEnd, after)
                } else {
                    emit(i, after)
                }
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

    static let markers = ["<|startoftext|>", "<|endoftext|>"]

    /// The fast clean-up: NFC, then lower case scalar by scalar.
    public static func normalize(_ text: Substring) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        let composed = String(text).precomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        for scalar in composed.unicodeScalars { CharacterClasses.appendLowercased(scalar, to: &out) }
        return String(out)
    }

    /// The slow clean-up; its words come out separated by single spaces.
    public static func slowClean(_ text: Substring) -> String {
        var cleaned = String.UnicodeScalarView()
        var ascii = true
        for c in text.unicodeScalars {
            let v = c.value
            if v == 0x09 || v == 0x0A || v == 0x0D || v == 0x20 {
                cleaned.append(" ")
                continue
            }
            if v < 0x80 {
                if v >= 0x20 && v != 0x7F { cleaned.append(c) }
                continue
            }
            ascii = false
            switch CharacterClasses.pythonCategory(c) {
            case .control, .format, .privateUse, .surrogate, .unassigned:
                continue
            case .spaceSeparator:
                cleaned.append(" ")
            default:
                if v == 0xFFFD { continue }
                if CharacterClasses.isChineseCharacter(c, pythonRanges: true) {
                    cleaned.append(" ")
                    cleaned.append(c)
                    cleaned.append(" ")
                } else {
                    cleaned.append(c)
                }
            }
        }
        let composed = ascii ? String(cleaned) : String(cleaned).precomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        for word in composed.unicodeScalars.split(whereSeparator: PythonString.isSpace) {
            if !out.isEmpty { out.append(" ") }
            PythonString.appendLowercased(word, to: &out)
        }
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

    private static let markerScalars: [[Unicode.Scalar]] = markers.map { Array($0.unicodeScalars) }

    /// For `<|startoftext|>` or `<|endoftext|>` at `i`: where its word
    /// starts and ends, and the index after the closing `|>`.
    private static func marker(_ scalars: String.UnicodeScalarView, at i: String.UnicodeScalarView.Index)
        -> (String.UnicodeScalarView.Index, String.UnicodeScalarView.Index, String.UnicodeScalarView.Index)? {
        for marker in markerScalars where scalars[i...].starts(with: marker) {
            let wordStart = scalars.index(i, offsetBy: 2)
            let wordEnd = scalars.index(i, offsetBy: marker.count - 2)
            return (wordStart, wordEnd, scalars.index(wordEnd, offsetBy: 2))
        }
        return nil
    }
}
