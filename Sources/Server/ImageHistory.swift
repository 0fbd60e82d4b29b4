import Foundation

/// The images made since the server started, newest first, for the web
/// page's history: the PNG bytes (with their parameters) in memory, the
/// oldest forgotten past `limit`. Nothing is written to disk.
public final class ImageHistory: @unchecked Sendable {
    public struct Entry: Sendable {
        public let id: Int
        public let png: [UInt8]
        public let infotext: String
        public let created: Date
    }

    public let limit: Int
    private let lock = NSLock()
    private var entries: [Entry] = []
    private var nextID = 1

    public init(limit: Int = 64) { self.limit = limit }

    @discardableResult
    func add(png: [UInt8], infotext: String) -> Int {
        lock.withLock {
            defer { nextID += 1 }
            entries.insert(Entry(id: nextID, png: png, infotext: infotext, created: Date()), at: 0)
            if entries.count > limit { entries.removeLast(entries.count - limit) }
            return nextID
        }
    }

    public var all: [Entry] { lock.withLock { entries } }

    func entry(id: Int) -> Entry? { lock.withLock { entries.first { $0.id == id } } }
}
