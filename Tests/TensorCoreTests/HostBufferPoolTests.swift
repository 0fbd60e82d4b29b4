import TensorCore
import XCTest

/// The CPU backend's buffer cache: exact-size reuse, and when full the
/// buffers freed longest ago make room (the UNet's working set stays cached).
final class HostBufferPoolTests: XCTestCase {
    func testReusesBySizeAndEvictsTheOldestWhenFull() {
        let pool = HostBufferPool(capacity: 1000)
        defer { pool.trim() }
        let a = pool.allocate(400), b = pool.allocate(400), c = pool.allocate(300)
        pool.release(a, byteCount: 400)
        pool.release(b, byteCount: 400)
        XCTAssertEqual(pool.cached, 800)
        XCTAssertEqual(pool.allocate(400), b)    // the most recently freed of its size
        pool.release(b, byteCount: 400)          // a and b cached again (b's first queue entry is stale)
        pool.release(c, byteCount: 300)          // 1100 > 1000: a, freed longest ago, makes room
        XCTAssertEqual(pool.cached, 700)
        XCTAssertEqual(pool.allocate(300), c)
        XCTAssertEqual(pool.allocate(400), b)
        XCTAssertEqual(pool.cached, 0)           // a is gone, not still cached
        pool.release(c, byteCount: 300)
        pool.release(b, byteCount: 400)
        // Larger than the whole cache: freed at once, never cached.
        pool.release(pool.allocate(5000), byteCount: 5000)
        XCTAssertEqual(pool.cached, 700)
    }

    /// Live and cached bytes together stay within the capacity: as buffers in
    /// use grow, the oldest cached ones go, down to the floor.
    func testCacheShrinksAsBuffersInUseGrow() {
        let pool = HostBufferPool(capacity: 1000, floor: 200)
        defer { pool.trim() }
        let a = pool.allocate(400), b = pool.allocate(400)
        pool.release(a, byteCount: 400)          // 400 in use: 600 may be cached
        XCTAssertEqual(pool.cached, 400)
        let c = pool.allocate(500)               // fresh (no 500 cached): 900 in use, only the floor stays
        XCTAssertEqual(pool.cached, 0)
        let d = pool.allocate(150)
        pool.release(d, byteCount: 150)          // 900 in use: the floor still caches 150
        XCTAssertEqual(pool.cached, 150)
        pool.release(c, byteCount: 500)          // 400 in use: 600 may be cached; d, the oldest, goes for c
        XCTAssertEqual(pool.cached, 500)
        pool.release(b, byteCount: 400)          // nothing in use: both fit
        XCTAssertEqual(pool.cached, 900)
        XCTAssertEqual(pool.allocate(400), b)
        XCTAssertEqual(pool.allocate(500), c)
    }

    /// Buffers reused over and over leave no trail: the queue stays near the live entries.
    func testChurnKeepsWorking() {
        let pool = HostBufferPool(capacity: 1 << 20)
        defer { pool.trim() }
        for round in 0..<20_000 {
            let size = 64 * (1 + round % 7)
            let pointer = pool.allocate(size)
            pointer.storeBytes(of: UInt64(round), as: UInt64.self)
            pool.release(pointer, byteCount: size)
        }
        XCTAssertLessThanOrEqual(pool.cached, 64 * (1 + 2 + 3 + 4 + 5 + 6 + 7))
    }
}
