/// Finds special tokens (`<|endoftext|>`, `[CLS]`, …) written literally in
/// a text. The references look for them in the raw text, before any
/// normalisation, and turn each into its id directly; the text between them
/// is tokenized piece by piece.
struct SpecialTokenSplitter: Sendable {
    enum Segment: Equatable {
        case text(Substring)
        case special(Int32)
    }

    /// Longest first, so that of two tokens starting at one place the
    /// longer wins.
    private let tokens: [(utf8: [UInt8], id: Int32)]
    private let firstBytes: Set<UInt8>

    init(_ tokens: [String: Int32]) {
        self.tokens = tokens.filter { !$0.key.isEmpty }
            .map { (Array($0.key.utf8), $0.value) }
            .sorted { $0.utf8.count > $1.utf8.count || ($0.utf8.count == $1.utf8.count && $0.utf8.lexicographicallyPrecedes($1.utf8)) }
        firstBytes = Set(self.tokens.map { $0.utf8[0] })
    }

    func split(_ text: String) -> [Segment] {
        let utf8 = text.utf8
        guard !tokens.isEmpty, utf8.contains(where: { firstBytes.contains($0) }) else {
            return text.isEmpty ? [] : [.text(text[...])]
        }
        var segments: [Segment] = []
        var start = utf8.startIndex
        var i = utf8.startIndex
        while i != utf8.endIndex {
            if firstBytes.contains(utf8[i]), let match = tokens.first(where: { utf8[i...].starts(with: $0.utf8) }) {
                if start != i { segments.append(.text(text[start ..< i])) }
                segments.append(.special(match.id))
                i = utf8.index(i, offsetBy: match.utf8.count)
                start = i
            } else {
                i = utf8.index(after: i)
            }
        }
        if start != utf8.endIndex { segments.append(.text(text[start...])) }
        return segments
    }

    /// The ids of `text`: each special token as its id, the text between
    /// them through the tokenizer's own `encode`.
    func ids(of text: String, encodingText encode: (Substring, inout [Int32]) -> Void) -> [Int32] {
        var ids: [Int32] = []
        for segment in split(text) {
            switch segment {
            case .special(let id): ids.append(id)
            case .text(let part): encode(part, &ids)
            }
        }
        return ids
    }
}
