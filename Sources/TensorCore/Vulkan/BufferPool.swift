import CVulkan

/// A device buffer owned by the pool. `lastUse` is the serial of the last
/// command batch that referenced it; the pool destroys a buffer only once
/// that batch has completed.
final class PooledBuffer: @unchecked Sendable {
    let raw: RawBuffer
    let sizeClass: Int
    var lastUse: UInt64 = 0

    init(raw: RawBuffer, sizeClass: Int) {
        self.raw = raw
        self.sizeClass = sizeClass
    }

    var buffer: VkBuffer { raw.buffer }
    var capacity: Int { raw.bytes }
}

/// The pooling allocator for tensors: requests are rounded up to a size
/// class (four classes per power of two, so at most 19% slack), and freed
/// buffers wait on a free list per class for the next request of that class.
/// A step of a model that repeats the previous step's allocation pattern
/// therefore allocates no device memory at all.
///
/// A freed buffer may be handed out again while earlier commands that read
/// or wrote it are still queued: all work runs on one queue in submission
/// order, and the recorder puts a barrier between the old use and the new
/// one (it tracks buffers by handle). Destroying memory is different: only
/// buffers whose last batch has completed are destroyed (`trim`).
final class BufferPool: @unchecked Sendable {
    struct Statistics: Sendable, Equatable {
        /// Device memory the pool holds (in use + free lists).
        var allocatedBytes = 0
        /// Bytes of buffers handed out and not yet returned.
        var inUseBytes = 0
        var peakAllocatedBytes = 0
        /// Buffers created / requests served from a free list.
        var allocations = 0
        var reuses = 0
    }

    private let device: VulkanDevice
    private let lock = Locked(State())

    private struct State {
        var free: [Int: [PooledBuffer]] = [:]
        var statistics = Statistics()
    }

    init(device: VulkanDevice) { self.device = device }

    var statistics: Statistics { lock.withLock { $0.statistics } }

    /// The size class of a request: the byte count rounded up to
    /// 2^k·{1, 1.25, 1.5, 1.75}, at least 256 bytes.
    static func sizeClass(for bytes: Int) -> Int {
        let n = max(bytes, 256)
        let top = Int.bitWidth - 1 - (n - 1).leadingZeroBitCount  // floor(log2(n-1))
        let quarter = max(1, (1 << top) / 4)
        return (n + quarter - 1) / quarter * quarter
    }

    func allocate(bytes: Int) throws -> PooledBuffer {
        let size = Self.sizeClass(for: bytes)
        if let reused = lock.withLock({ state -> PooledBuffer? in
            guard var list = state.free[size], let buffer = list.popLast() else { return nil }
            state.free[size] = list
            state.statistics.inUseBytes += buffer.capacity
            state.statistics.reuses += 1
            return buffer
        }) {
            return reused
        }
        let raw = try device.makeBuffer(bytes: size, memoryType: device.deviceMemoryType, mapped: false)
        let buffer = PooledBuffer(raw: raw, sizeClass: size)
        lock.withLock { state in
            state.statistics.allocations += 1
            state.statistics.allocatedBytes += raw.bytes
            state.statistics.inUseBytes += raw.bytes
            state.statistics.peakAllocatedBytes = max(state.statistics.peakAllocatedBytes, state.statistics.allocatedBytes)
        }
        return buffer
    }

    /// Returns a buffer to its free list (called when the last tensor using it dies).
    func release(_ buffer: PooledBuffer) {
        lock.withLock { state in
            state.free[buffer.sizeClass, default: []].append(buffer)
            state.statistics.inUseBytes -= buffer.capacity
        }
    }

    /// Destroys free buffers whose last batch has completed (all of them when
    /// `completedSerial` is nil: the caller has waited for the device).
    func trim(completedSerial: UInt64?) {
        let doomed: [PooledBuffer] = lock.withLock { state in
            var doomed: [PooledBuffer] = []
            for (size, list) in state.free {
                let (done, pending) = list.reduce(into: ([PooledBuffer](), [PooledBuffer]())) { acc, b in
                    if completedSerial.map({ b.lastUse <= $0 }) ?? true { acc.0.append(b) } else { acc.1.append(b) }
                }
                state.free[size] = pending
                doomed += done
            }
            for b in doomed { state.statistics.allocatedBytes -= b.capacity }
            return doomed
        }
        for b in doomed { device.destroy(b.raw) }
    }

    func destroyAll() {
        trim(completedSerial: nil)
    }
}
