import CPUKernels
import Dispatch
import Foundation
import TensorCore
import XCTest

/// The CPU backend's persistent workers (`sdgen_pool_run`, under every
/// parallel loop): each index runs once per loop, loops back to back (workers
/// still spinning) and after a pause (workers asleep on their futex), a loop
/// started inside a loop or while another thread holds the pool is refused
/// (the caller then runs it through libdispatch), and the backend's ops give
/// the same results from several threads at once.
final class WorkerPoolTests: XCTestCase {
    /// What a loop's participants write: one count per index. (Under an
    /// NSLock, a pthread mutex that ThreadSanitizer sees, unlike
    /// Synchronization's Mutex and Atomic.)
    private final class Visits: @unchecked Sendable {
        private var counts: [Int]
        private let lock = NSLock()
        init(_ participants: Int) { counts = Array(repeating: 0, count: participants) }
        func visit(_ index: Int) { lock.withLock { counts[index] += 1 } }
        func snapshot() -> [Int] { lock.withLock { counts } }
    }

    private func run(_ participants: Int, _ visits: Visits) -> Bool {
        sdgen_pool_run(Int32(participants), { context, index in
            let visits = Unmanaged<Visits>.fromOpaque(context!).takeUnretainedValue()
            visits.visit(Int(index))
        }, Unmanaged.passUnretained(visits).toOpaque()) != 0
    }

    func testEachIndexOncePerLoopBackToBackAndAfterTheWorkersSleep() {
        for participants in [2, 3, 2, 5, 2] {  // also grows the pool past what ran before
            let visits = Visits(participants)
            for round in 1...500 {
                XCTAssertTrue(run(participants, visits))
                // Past the workers' spin now and then: the next loop must wake them.
                if round % 100 == 0 { usleep(2000) }
            }
            XCTAssertEqual(visits.snapshot(), Array(repeating: 500, count: participants), "\(participants) participants")
        }
    }

    func testFewerThanTwoParticipantsAreRefused() {
        let visits = Visits(2)
        XCTAssertFalse(run(1, visits))
        XCTAssertFalse(run(0, visits))
        XCTAssertEqual(visits.snapshot(), [0, 0])
    }

    func testALoopInsideALoopIsRefusedAndRunsNothing() {
        // Index 0 counts the outer loop's refusals, index 1 the inner loop's runs.
        let nested = Visits(2)
        let ran = sdgen_pool_run(2, { context, _ in
            let nested = Unmanaged<Visits>.fromOpaque(context!).takeUnretainedValue()
            let started = sdgen_pool_run(2, { context, _ in
                Unmanaged<Visits>.fromOpaque(context!).takeUnretainedValue().visit(1)
            }, context)
            if started == 0 { nested.visit(0) }
        }, Unmanaged.passUnretained(nested).toOpaque())
        XCTAssertEqual(ran, 1)
        XCTAssertEqual(nested.snapshot(), [2, 0])
    }

    /// Products and element-wise ops from four threads at once (one holds the
    /// pool, the others fall back to libdispatch), and loops inside loops
    /// (attention's heads), equal to the same ops run alone.
    func testOpsFromSeveralThreadsMatchTheSameOpsAlone() {
        final class Work: @unchecked Sendable {  // tensors only read after creation
            let cpu = CPUBackend(threads: 2)
            let x: Tensor, w: Tensor
            init() {
                var state: UInt32 = 2024
                func random(_ count: Int) -> [Float] {
                    (0..<count).map { _ in
                        state = state &* 1_664_525 &+ 1_013_904_223
                        return Float(state >> 8) / Float(1 << 24) - 0.5
                    }
                }
                x = cpu.upload(random(128 * 256), shape: [1, 128, 256])
                w = cpu.upload(random(384 * 256), shape: [384, 256])
            }
            func compute() -> [Float] {
                let y = x.linear(w).gelu()
                return y.softmax().toArray()
                    + cpu.attention(q: y, k: y, v: y, heads: 6, scale: 0.125, causal: false, keyMask: nil).toArray()
            }
        }
        let work = Work()
        let alone = work.compute()
        final class Results: @unchecked Sendable {
            private var values: [[Float]] = Array(repeating: [], count: 4)
            private let lock = NSLock()
            func set(_ i: Int, _ value: [Float]) { lock.withLock { values[i] = value } }
            var all: [[Float]] { lock.withLock { values } }
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            var last: [Float] = []
            for _ in 0..<20 { last = work.compute() }
            results.set(i, last)
        }
        for values in results.all { XCTAssertEqual(values, alone) }
    }
}
