/// The Unicode character classes the reference tokenizers split and clean
/// text by. Each reference fixes its Unicode version through the library it
/// is built on, while Swift's tables move with the toolchain; for exact
/// parity a scalar newer than the reference's version counts as unassigned.
///
/// Public only to the tests (`@_spi(Testing) import`), which check every
/// code point against the references' tables.
@_spi(Testing) public enum CharacterClasses {
    /// Oniguruma in Hugging Face `tokenizers` (CLIP's pre-tokenizer regex).
    public static let regexUnicodeVersion = (major: 16, minor: 0)

    public static func isKnown(_ scalar: Unicode.Scalar, upTo version: (major: Int, minor: Int)) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major < version.major || (age.major == version.major && age.minor <= version.minor)
    }

    // MARK: CLIP's regex classes: \s, \p{L}, \p{N}

    public static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 {
            return scalar == " " || (scalar.value >= 0x09 && scalar.value <= 0x0D)
        }
        return scalar.properties.isWhitespace
    }

    public static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 { return (v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return isKnown(scalar, upTo: regexUnicodeVersion)
        default:
            return false
        }
    }

    public static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 { return v >= 0x30 && v <= 0x39 }
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber:
            return isKnown(scalar, upTo: regexUnicodeVersion)
        default:
            return false
        }
    }

    // MARK: BERT's classes (BertNormalizer and BertPreTokenizer)

    /// The `unicode_categories` crate behind BERT's normaliser and
    /// pre-tokenizer in `tokenizers` carries Unicode 8.0 tables.
    public static let bertUnicodeVersion = (major: 8, minor: 0)

    /// The few scalars whose category changed after Unicode 8.0, as 8.0 had them.
    private static let bertCategoryOverrides: [UInt32: Unicode.GeneralCategory] = [
        0x166D: .otherPunctuation,  // CANADIAN SYLLABICS CHI SIGN, So since 12.0
        0x1734: .nonspacingMark,    // HANUNOO SIGN PAMUDPOD, Mc since 14.0
        0x1885: .otherLetter,       // MONGOLIAN LETTER ALI GALI BALUDA, Mn since 9.0
        0x1886: .otherLetter,       // MONGOLIAN LETTER ALI GALI THREE BALUDA, Mn since 9.0
        0xA9BD: .spacingMark,       // JAVANESE CONSONANT SIGN KERET, Mn since 12.0
        0x111C9: .otherPunctuation, // SHARADA SANDHI MARK, Mn since 11.0
        0x1171E: .nonspacingMark,   // AHOM CONSONANT SIGN MEDIAL RA, Mc since 11.0
    ]

    /// A scalar's category as BERT's tables see it; nil for one they do not know.
    static func bertCategory(_ scalar: Unicode.Scalar) -> Unicode.GeneralCategory? {
        if let category = bertCategoryOverrides[scalar.value] { return category }
        guard isKnown(scalar, upTo: bertUnicodeVersion) else { return nil }
        return scalar.properties.generalCategory
    }

    /// Removed by BERT's text cleanup: the "Other" categories except the
    /// three whitespace controls (and except unassigned code points).
    public static func isBertControl(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v == 0x09 || v == 0x0A || v == 0x0D { return false }
        if v < 0x20 || v == 0x7F { return true }
        if v < 0x80 { return false }
        switch bertCategory(scalar) {
        case .control?, .format?, .privateUse?, .surrogate?:
            return true
        default:
            return false
        }
    }

    /// ASCII punctuation (symbols such as `$` and `^` included) and the
    /// Unicode punctuation categories.
    public static func isBertPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 {
            return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
        }
        switch bertCategory(scalar) {
        case .connectorPunctuation?, .dashPunctuation?, .openPunctuation?, .closePunctuation?,
             .initialPunctuation?, .finalPunctuation?, .otherPunctuation?:
            return true
        default:
            return false
        }
    }

    /// The CJK ideograph blocks BERT surrounds with spaces (so each becomes
    /// its own word); kana and hangul are not among them. `tokenizers` has
    /// the Extension E block start as U+2B920 where the Python original
    /// has U+2B820; `pythonRanges` picks the original.
    public static func isChineseCharacter(_ scalar: Unicode.Scalar, pythonRanges: Bool = false) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        case 0x2B820...0x2B91F:
            return pythonRanges
        default:
            return false
        }
    }

    // MARK: Python's unicodedata (the slow Python tokenizers of transformers 4)

    /// Python 3.11's `unicodedata`.
    public static let pythonUnicodeVersion = (major: 14, minor: 0)

    static func pythonCategory(_ scalar: Unicode.Scalar) -> Unicode.GeneralCategory {
        guard isKnown(scalar, upTo: pythonUnicodeVersion) else { return .unassigned }
        return scalar.properties.generalCategory
    }

    /// What accent stripping drops after NFD.
    public static func isBertNonspacingMark(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= 0x300 && bertCategory(scalar) == .nonspacingMark
    }

    /// Lower case one scalar at a time, as Rust's `char::to_lowercase` does
    /// (no context-dependent rules such as the Greek final sigma).
    public static func appendLowercased(_ scalar: Unicode.Scalar, to out: inout String.UnicodeScalarView) {
        let v = scalar.value
        if v < 0x80 {
            out.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v | 0x20)! : scalar)
            return
        }
        if !scalar.properties.changesWhenLowercased {
            out.append(scalar)
            return
        }
        out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
    }
}
