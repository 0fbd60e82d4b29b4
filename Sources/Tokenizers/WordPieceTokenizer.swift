/// WordPiece: a word becomes the longest vocabulary entry that starts it,
/// then the longest `##`-prefixed entry that continues it, and so on. A
/// word with a part no entry covers, or longer than 100 characters, is
/// `[UNK]` as a whole.
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: [String: Int32]
    public let unknownID: Int32
    public let continuingPrefix: String
    public let maxCharactersPerWord: Int

    public init(vocabulary: [String: Int32], unknownID: Int32, continuingPrefix: String = "##",
                maxCharactersPerWord: Int = 100) {
        self.vocabulary = vocabulary
        self.unknownID = unknownID
        self.continuingPrefix = continuingPrefix
        self.maxCharactersPerWord = maxCharactersPerWord
    }

    public func encode(word: some StringProtocol, into ids: inout [Int32]) {
        let scalars = Array(word.unicodeScalars)
        guard scalars.count <= maxCharactersPerWord else {
            ids.append(unknownID)
            return
        }
        var pieces: [Int32] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Int32?
            while start < end {
                var candidate = start > 0 ? continuingPrefix : ""
                candidate.unicodeScalars.append(contentsOf: scalars[start ..< end])
                if let id = vocabulary[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.append(unknownID)
                return
            }
            pieces.append(id)
            start = end
        }
        ids += pieces
    }
}
