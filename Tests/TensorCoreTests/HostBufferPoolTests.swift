import TensorCore
import XCTest

/// The CPU backend's buffer cache: reuse by size (the smallest cached buffer
/// up to twice the request), and when full the buffers freed longest ago make
/// room (the UNet's working set stays cached).
final class HostBufferPoolTests: XCTestCase {
    func testReusesBySizeAndEvictsTheOldestWhenFull() {
        let pool = HostBufferPool(capacity: 1000)
        defer { pool.trim() }
        let a = pool.allocate(400), b = pool.allocate(400), c = pool.allocate(300)
        XCTAssertEqual([a.capacity, b.capacity, c.capacity], [400, 400, 300])
        pool.release(a.pointer, capacity: 400)
        pool.release(b.pointer, capacity: 400)
        XCTAssertEqual(pool.cached, 800)
        XCTAssertEqual(pool.allocate(400).pointer, b.pointer)  // the most recently freed of its size
        pool.release(b.pointer, capacity: 400)   // a and b cached again (b's first queue entry is stale)
        pool.release(c.pointer, capacity: 300)   // 1100 > 1000: a, freed longest ago, makes room
        XCTAssertEqual(pool.cached, 700)
        XCTAssertEqual(pool.allocate(300).pointer, c.pointer)
        XCTAssertEqual(pool.allocate(400).pointer, b.pointer)
        XCTAssertEqual(pool.cached, 0)           // a is gone, not still cached
        pool.release(c.pointer, capacity: 300)
        pool.release(b.pointer, capacity: 400)
        // Larger than the whole cache: freed at once, never cached.
        let huge = pool.allocate(5000)
        pool.release(huge.pointer, capacity: huge.capacity)
        XCTAssertEqual(pool.cached, 700)
    }

    /// A request takes the smallest cached buffer that holds it, if that is
    /// at most twice its size, and gives it back at its whole size.
    func testSmallestCachedBufferUpToTwiceTheRequestServesIt() {
        let pool = HostBufferPool(capacity: 10_000)
        defer { pool.trim() }
        let small = pool.allocate(256), large = pool.allocate(1000)
        pool.release(small.pointer, capacity: small.capacity)
        pool.release(large.pointer, capacity: large.capacity)
        let fit = pool.allocate(200)             // 256 and 1000 both hold it; 256 is the smaller
        XCTAssertEqual(fit.pointer, small.pointer)
        XCTAssertEqual(fit.capacity, 256)
        XCTAssertEqual(pool.cached, 1000)
        let fresh = pool.allocate(400)           // 1000 is more than twice 400: a new buffer
        XCTAssertNotEqual(fresh.pointer, large.pointer)
        XCTAssertEqual(fresh.capacity, 400)
        let wide = pool.allocate(600)            // 1000 is within twice 600
        XCTAssertEqual(wide.pointer, large.pointer)
        XCTAssertEqual(wide.capacity, 1000)
        XCTAssertEqual(pool.cached, 0)
        for buffer in [fit, fresh, wide] { pool.release(buffer.pointer, capacity: buffer.capacity) }
        XCTAssertEqual(pool.cached, 256 + 400 + 1000)
    }

    /// Live and cached bytes together stay within the capacity: as buffers in
    /// use grow, the oldest cached ones go, down to the floor.
    func testCacheShrinksAsBuffersInUseGrow() {
        let pool = HostBufferPool(capacity: 1000, floor: 200)
        defer { pool.trim() }
        let a = pool.allocate(400), b = pool.allocate(400)
        pool.release(a.pointer, capacity: 400)   // 400 in use: 600 may be cached
        XCTAssertEqual(pool.cached, 400)
        let c = pool.allocate(900)               // fresh (400 is too small): 1300 in use, only the floor stays
        XCTAssertEqual(pool.cached, 0)
        let d = pool.allocate(150)
        pool.release(d.pointer, capacity: 150)   // 1300 in use: the floor still caches 150
        XCTAssertEqual(pool.cached, 150)
        pool.release(c.pointer, capacity: 900)   // 400 in use: 600 may be cached, not 150 + 900
        XCTAssertEqual(pool.cached, 150)
        pool.release(b.pointer, capacity: 400)   // nothing in use: 150 and 400 fit
        XCTAssertEqual(pool.cached, 550)
        XCTAssertEqual(pool.allocate(400).pointer, b.pointer)
        XCTAssertEqual(pool.allocate(150).pointer, d.pointer)
    }

    /// Buffers reused over and over leave no trail: the queue stays near the live entries.
    /// Raising the capacity keeps more; lowering it frees the oldest cached
    /// buffers over the new limit at once, never below the floor.
    func testCapacityCanChange() {
        let pool = HostBufferPool(capacity: 1000, floor: 100)
        defer { pool.trim() }
        let buffers = (0..<4).map { _ in pool.allocate(400) }
        for buffer in buffers { pool.release(buffer.pointer, capacity: buffer.capacity) }
        XCTAssertEqual(pool.cached, 800)         // the first two went: live buffers filled the capacity then
        pool.capacity = 500
        XCTAssertEqual(pool.cached, 400)         // the newest stays
        XCTAssertEqual(pool.allocate(400).pointer, buffers[3].pointer)
        pool.capacity = 10
        XCTAssertEqual(pool.capacity, 100)       // not below the floor
        pool.release(buffers[3].pointer, capacity: 400)
        XCTAssertEqual(pool.cached, 0)           // 400 > the 100 it may now keep
        pool.capacity = 2000
        let more = (0..<4).map { _ in pool.allocate(400) }
        for buffer in more { pool.release(buffer.pointer, capacity: buffer.capacity) }
        XCTAssertEqual(pool.cached, 1600)
    }

    /// The CPU backend sizes the shared pool to a UNet step's working set when
    /// the default cannot hold its repeats (over twice the default), and keeps the default otherwise.
    func testBackendRetainsALargeStepsWorkingSet() {
        let pool = HostBufferPool.shared, backend = CPUBackend()
        defer { pool.capacity = HostBufferPool.defaultCapacity }
        backend.retainBuffers(forWorkingSet: 190 << 20)
        XCTAssertEqual(pool.capacity, HostBufferPool.defaultCapacity)
        backend.retainBuffers(forWorkingSet: 700 << 20)
        XCTAssertEqual(pool.capacity, 700 << 20)
        backend.retainBuffers(forWorkingSet: 0)
        XCTAssertEqual(pool.capacity, HostBufferPool.defaultCapacity)
    }

    func testChurnKeepsWorking() {
        let pool = HostBufferPool(capacity: 1 << 20)
        defer { pool.trim() }
        for round in 0..<20_000 {
            let size = 64 * (1 + round % 7)
            let buffer = pool.allocate(size)
            buffer.pointer.storeBytes(of: UInt64(round), as: UInt64.self)
            pool.release(buffer.pointer, capacity: buffer.capacity)
        }
        XCTAssertLessThanOrEqual(pool.cached, 64 * (1 + 2 + 3 + 4 + 5 + 6 + 7))
    }
}
