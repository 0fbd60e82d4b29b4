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

        // Symbols as a linked list by their first byte's position, and the
        // pairs in a heap ordered by (rank, merged id) in one value, then by
        // position: the pair to merge next is on top, leftmost among equals.
        // Entries a merge made stale are skipped when they surface. Scanning
        // for the best pair instead made a word's cost quadratic (a
        // 400 000-letter word: 45 s).
        let count = symbols.count
        var next = Array(1...count), previous = Array(-1..<(count - 1))
        var heap = PairHeap()
        for i in 0 ..< count - 1 {
            let entry = rank(symbols[i], symbols[i + 1])
            if entry != .max { heap.push(entry, i) }
        }
        while let (entry, left) = heap.pop() {
            let right = next[left]
            // Stale: the left symbol was merged away, or a neighbour changed.
            guard right >= 0, right < count, rank(symbols[left], symbols[right]) == entry else { continue }
            symbols[left] = Int32(bitPattern: UInt32(truncatingIfNeeded: entry))
            next[left] = next[right]
            if next[right] < count { previous[next[right]] = left }
            next[right] = -1  // merged away
            if previous[left] >= 0 {
                let before = rank(symbols[previous[left]], symbols[left])
                if before != .max { heap.push(before, previous[left]) }
            }
            if next[left] < count {
                let after = rank(symbols[left], symbols[next[left]])
                if after != .max { heap.push(after, left) }
            }
        }
        var merged: [Int32] = []
        var position = 0
        while position < count {
            merged.append(symbols[position])
            position = next[position]
        }
        return merged
    }
}

/// A binary min-heap of (merge entry, position) pairs for `encode`.
private struct PairHeap {
    private var items: [(entry: UInt64, position: Int)] = []

    private static func less(_ a: (entry: UInt64, position: Int), _ b: (entry: UInt64, position: Int)) -> Bool {
        a.entry != b.entry ? a.entry < b.entry : a.position < b.position
    }

    mutating func push(_ entry: UInt64, _ position: Int) {
        items.append((entry, position))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (UInt64, Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < items.count, Self.less(items[left], items[smallest]) { smallest = left }
                if right < items.count, Self.less(items[right], items[smallest]) { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return (top.entry, top.position)
    }
}
