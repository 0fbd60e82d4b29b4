import Foundation

/// Remembers the ids of words already encoded: prompts repeat the same
/// words ("masterpiece", "best quality", …) and a dictionary lookup is much
/// cheaper than merging again. Bounded; emptied when full.
final class WordCache: @unchecked Sendable {
    private var entries: [String: [Int32]] = [:]
    private let lock = NSLock()
    private let capacity: Int

    init(capacity: Int = 20_000) {
        self.capacity = capacity
    }

    func ids(for word: String, orCompute compute: () -> [Int32]) -> [Int32] {
        lock.lock()
        if let hit = entries[word] {
            lock.unlock()
            return hit
        }
        lock.unlock()
        let ids = compute()
        lock.lock()
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[word] = ids
        lock.unlock()
        return ids
    }
}
