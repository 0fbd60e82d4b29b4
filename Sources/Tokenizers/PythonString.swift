/// The few Python string behaviours the references' decoders end with.
enum PythonString {
    /// `str.isspace()`: Unicode whitespace plus the information separators
    /// U+001C…U+001F, which Python counts as whitespace too.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        (0x1C...0x1F).contains(scalar.value) || CharacterClasses.isWhitespace(scalar)
    }

    /// `str.lower()`: full lower-case mappings, and Σ becomes ς where it
    /// ends a word (a cased letter before it, none after it, case-ignorable
    /// characters skipped on both sides).
    static func appendLowercased(_ scalars: some BidirectionalCollection<Unicode.Scalar>,
                                 to out: inout String.UnicodeScalarView) {
        var i = scalars.startIndex
        while i != scalars.endIndex {
            let c = scalars[i]
            if c == "\u{03A3}" {
                out.append(isFinalSigma(scalars, at: i) ? "\u{03C2}" : "\u{03C3}")
            } else {
                CharacterClasses.appendLowercased(c, to: &out)
            }
            i = scalars.index(after: i)
        }
    }

    private static func isFinalSigma<C: BidirectionalCollection<Unicode.Scalar>>(_ s: C, at i: C.Index) -> Bool {
        var j = i
        var before: Unicode.Scalar?
        while j != s.startIndex {
            j = s.index(before: j)
            if !s[j].properties.isCaseIgnorable { before = s[j]; break }
        }
        guard let before, before.properties.isCased else { return false }
        j = s.index(after: i)
        while j != s.endIndex {
            if !s[j].properties.isCaseIgnorable { return !s[j].properties.isCased }
            j = s.index(after: j)
        }
        return true
    }

    /// `str.strip()` with no arguments.
    static func strip(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[first ... last])
    }

    /// `str.replace`: code point by code point. Swift's own matching is by
    /// Character, so it would miss `</w>` followed by a combining mark.
    static func replace(_ text: String, _ target: String, with replacement: String) -> String {
        let bytes = Array(text.utf8), pattern = Array(target.utf8)
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == pattern[0], i + pattern.count <= bytes.count, bytes[i ..< i + pattern.count].elementsEqual(pattern) {
                out += replacement.utf8
                i += pattern.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
