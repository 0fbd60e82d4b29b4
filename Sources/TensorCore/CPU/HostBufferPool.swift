import CPUKernels
import Foundation

/// Recycles freed tensor buffers. A model runs the same shapes step after
/// step, so nearly every allocation after the first step can be a reuse;
/// without it each large buffer comes fresh from mmap and pays a page fault
/// and the zeroing of its pages on first touch (measured: a third of a 47 MB
/// GEMM's time).
///
/// A request takes the smallest cached buffer of at least its size and at
/// most `fitSlack` times it, so sizes that differ a little (the feed-forward's
/// row blocks of 1366 and 1362 tokens) or that a step uses once per level
/// share buffers. Exact sizes alone left 2.9 GB of the 512² UNet step's
/// buffers fresh each step within a 160 MB cache; up to twice the request,
/// 0.5 GB (replaying the step's allocations; a buffer handed out counts at
/// its whole size, so this costs no memory).
///
/// When the cache is full, the buffers freed longest ago make room: the
/// cache follows the working set. (Refusing the newest instead let sizes of
/// a past phase — warm-up, another resolution — hold the space while a UNet
/// step's own 10–84 MB activations came fresh each time: measured on a
/// 2-core Xeon, 1,000 fresh buffers and ~0.4 s of page zeroing per step.)
///
/// What is cached adds to the process's peak, so the cache shrinks as the
/// buffers in use grow: live and cached together stay within `capacity`,
/// while at least `floor` may always be cached. SD 1.5's 512² UNet step holds
/// up to ~140 MB live beside its 1.72 GB of f16 weights: a flat 256 MB cache
/// put the image at 2.2 GB, a flat 64 MB one at 1.96 GB with ~1 s more page
/// faults per step (system time) than 160 MB shared with the live buffers
/// (1.96 GB, system time as with the flat 256 MB; 2-core Emerald Rapids).
public final class HostBufferPool: @unchecked Sendable {
    /// The pool every CPU tensor's storage comes from.
    public static let shared = HostBufferPool()

    /// Buffers in use and cached together, at most this many bytes while
    /// more than `floor` is cached; shrinking it frees the cached buffers
    /// over the new limit.
    public var capacity: Int {
        get { lock.withLock { limit } }
        set {
            lock.lock()
            limit = max(newValue, floor)
            let evicted = evictOldest(keeping: cacheLimit)
            lock.unlock()
            for buffer in evicted { Foundation.free(buffer) }
        }
    }
    private var limit: Int
    /// The capacity the pool starts with (see above for why this much).
    public static let defaultCapacity = 160 << 20
    /// Bytes that may stay cached however many are in use.
    public let floor: Int
    /// Bytes handed out and not yet taken back.
    private var liveBytes = 0
    private var free: [Int: [Cached]] = [:]
    /// Cached buffers in the order they were freed, oldest first; entries
    /// whose buffer was reused since (no longer in `free` with that serial)
    /// are skipped when met, and dropped when they outnumber the live ones.
    private var order: [(size: Int, cached: Cached)] = []
    private var orderStart = 0
    private var cachedCount = 0
    private var serial = 0
    private var cachedBytes = 0

    private struct Cached: Equatable {
        let pointer: UnsafeMutableRawPointer
        let serial: Int
    }
    private let lock = NSLock()

    /// Bytes held for reuse now.
    public var cached: Int { lock.withLock { cachedBytes } }

    public init(capacity: Int = defaultCapacity, floor: Int = 16 << 20) {
        limit = capacity
        self.floor = min(floor, capacity)
        // Buffers the pool lets go must leave the process. glibc raises its
        // mmap threshold to the size of each mapped block freed (up to 32 MB),
        // after which 1–30 MB activations come from the heap and stay resident
        // when freed: ~150 MB of a 512² UNet step's RSS. A fixed threshold keeps
        // every large buffer a mapping of its own.
        sdgen_fix_mmap_threshold(256 << 10)
    }

    /// A cached buffer may serve requests down to 1/`fitSlack` of its size.
    static let fitSlack = 2

    /// A 64-byte aligned buffer of at least `byteCount` bytes (2 MB aligned
    /// from 4 MB), and its whole size, which `release` takes back.
    public func allocate(_ byteCount: Int) -> (pointer: UnsafeMutableRawPointer, capacity: Int) {
        let size = max(byteCount, 64)
        lock.lock()
        if let fit = smallestCachedSize(from: size, to: size * Self.fitSlack), let cached = free[fit]?.popLast() {
            if free[fit]!.isEmpty { free[fit] = nil }
            liveBytes += fit
            cachedBytes -= fit
            cachedCount -= 1
            lock.unlock()
            return (cached.pointer, fit)
        }
        liveBytes += size
        let evicted = evictOldest(keeping: cacheLimit)
        lock.unlock()
        for buffer in evicted { Foundation.free(buffer) }
        // Large buffers on 2 MB transparent huge pages: one fault per 2 MB
        // instead of per 4 KB when a buffer is fresh, and fewer TLB misses
        // in the GEMMs that stream them.
        let huge = size >= Self.hugePageThreshold
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, huge ? Self.hugePageSize : 64, size) == 0, let raw else {
            fatalError("out of memory allocating \(size) bytes")
        }
        if huge { _ = madvise(raw, size, MADV_HUGEPAGE) }
        return (raw, size)
    }

    /// The smallest size in `lower…upper` with a buffer cached (under the lock).
    private func smallestCachedSize(from lower: Int, to upper: Int) -> Int? {
        if free[lower] != nil { return lower }
        var best: Int?
        for size in free.keys where size > lower && size <= upper && size < (best ?? .max) { best = size }
        return best
    }

    static let hugePageSize = 2 << 20
    static let hugePageThreshold = 4 << 20

    /// Takes back a buffer `allocate` gave, with the capacity it gave, to
    /// cache or free.
    public func release(_ pointer: UnsafeMutableRawPointer, capacity size: Int) {
        lock.lock()
        liveBytes -= size
        let limit = cacheLimit
        guard size <= limit else {
            lock.unlock()
            Foundation.free(pointer)
            return
        }
        let evicted = evictOldest(keeping: limit - size)
        serial += 1
        let cached = Cached(pointer: pointer, serial: serial)
        free[size, default: []].append(cached)
        cachedBytes += size
        cachedCount += 1
        order.append((size, cached))
        // Keep the queue to about the live entries.
        if order.count - orderStart > 2 * cachedCount + 1024 {
            order = order[orderStart...].filter { free[$0.size]?.contains($0.cached) == true }
            orderStart = 0
        }
        lock.unlock()
        for buffer in evicted { Foundation.free(buffer) }
    }

    /// What may be cached now, given the bytes in use (under the lock).
    private var cacheLimit: Int { max(floor, limit - liveBytes) }

    /// Drops the buffers freed longest ago until at most `limit` bytes stay
    /// cached (under the lock); the caller frees them after unlocking.
    private func evictOldest(keeping limit: Int) -> [UnsafeMutableRawPointer] {
        var evicted: [UnsafeMutableRawPointer] = []
        while cachedBytes > limit, orderStart < order.count {
            let oldest = order[orderStart]
            orderStart += 1
            // Still cached (not reused since it was freed)? Then it goes.
            if let index = free[oldest.size]?.firstIndex(of: oldest.cached) {
                free[oldest.size]!.remove(at: index)
                if free[oldest.size]!.isEmpty { free[oldest.size] = nil }
                cachedBytes -= oldest.size
                cachedCount -= 1
                evicted.append(oldest.cached.pointer)
            }
        }
        return evicted
    }

    /// Returns every cached buffer to the system (between models, say).
    public func trim() {
        lock.lock()
        let buffers = free.values.flatMap { $0.map(\.pointer) }
        free.removeAll()
        order.removeAll()
        orderStart = 0
        cachedCount = 0
        cachedBytes = 0
        lock.unlock()
        for pointer in buffers { Foundation.free(pointer) }
    }
}
