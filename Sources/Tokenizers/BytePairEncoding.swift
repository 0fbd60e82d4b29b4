import Foundation

/// A byte-level BPE model: a word's bytes start as one symbol each (the last
/// one carrying the end-of-word suffix) and adjacent symbols are merged,
/// lowest merge rank first and leftmost first among equal ranks, until no
/// listed merge applies. That is the order Hugging Face `tokenizers` merges
/// in, so the ids match it symbol for symbol.
struct BytePairEncoding: Sendable {
    /// Token strings by id ("" for ids the vocabulary skips).
    let tokens: [String]
    let ids: [String: Int32]
    let endOfWordSuffix: String
    let unknownID: Int32

    /// (left id, right id) packed into one key → (rank, merged id) packed.
    private let merges: [UInt64: UInt64]
    /// Per byte, the id of its one-character token, without and with the
    /// end-of-word suffix (`unknownID` when the vocabulary lacks it).
    private let byteIDs: [Int32]
    private let finalByteIDs: [Int32]

    /// - Parameters:
    ///   - source: the file named in errors about the merges.
    init(vocabulary ids: [String: Int32], merges pairs: [(String, String)], endOfWordSuffix: String,
         unknownToken: String, source: String) throws {
        self.ids = ids
        self.endOfWordSuffix = endOfWordSuffix
        guard let unknownID = ids[unknownToken] else {
            throw TokenizerError("the unknown token '\(unknownToken)' is not in the vocabulary", path: source)
        }
        self.unknownID = unknownID
        tokens = try TokenTable.make(ids, source: source)

        var merges = [UInt64: UInt64](minimumCapacity: pairs.count)
        for (rank, (left, right)) in pairs.enumerated() {
            guard let a = ids[left], let b = ids[right] else {
                let missing = ids[left] == nil ? left : right
                throw TokenizerError("merge \(rank + 1) '\(left) \(right)': '\(missing)' is not in the vocabulary",
                                     path: source)
            }
            guard let merged = ids[left + right] else {
                throw TokenizerError("merge \(rank + 1) '\(left) \(right)': its result '\(left + right)' is not in the vocabulary",
                                     path: source)
            }
            // A repeated pair keeps its last rank, as the reference's map does.
            merges[Self.key(a, b)] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
        }
        self.merges = merges

        var byteIDs = [Int32](repeating: unknownID, count: 256)
        var finalByteIDs = [Int32](repeating: unknownID, count: 256)
        for byte in 0...255 {
            let character = ByteLevelAlphabet.string(for: UInt8(byte))
            if let id = ids[character] { byteIDs[byte] = id }
            if let id = ids[character + endOfWordSuffix] { finalByteIDs[byte] = id }
        }
        self.byteIDs = byteIDs
        self.finalByteIDs = finalByteIDs
    }

    private static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    private func rank(_ a: Int32, _ b: Int32) -> UInt64 {
        merges[Self.key(a, b)] ?? .max
    }

    /// The ids of one pre-tokenized word, given as UTF-8 bytes.
    func encode<Bytes: BidirectionalCollection<UInt8>>(word: Bytes) -> [Int32] {
        guard let last = word.last else { return [] }
        var symbols = word.dropLast().map { byteIDs[Int($0)] }
        symbols.append(finalByteIDs[Int(last)])
        guard symbols.count > 1 else { return symbols }

        // ranks[i] belongs to the pair (symbols[i], symbols[i + 1]): rank in
        // the high half, merged id in the low half, so the smallest value is
        // the pair to merge next.
        var ranks = (0 ..< symbols.count - 1).map { rank(symbols[$0], symbols[$0 + 1]) }
        while true {
            var best = 0
            for i in 1 ..< ranks.count where ranks[i] < ranks[best] { best = i }
            let entry = ranks[best]
            if entry == .max { break }
            symbols[best] = Int32(bitPattern: UInt32(truncatingIfNeeded: entry))
            symbols.remove(at: best + 1)
            ranks.remove(at: best)
            if ranks.isEmpty { break }
            if best > 0 { ranks[best - 1] = rank(symbols[best - 1], symbols[best]) }
            if best < ranks.count { ranks[best] = rank(symbols[best], symbols[best + 1]) }
        }
        return symbols
    }
}
