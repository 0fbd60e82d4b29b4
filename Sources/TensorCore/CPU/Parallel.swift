import CPUKernels
import Dispatch
import Synchronization

/// Splits `0..<count` into at most `threads` contiguous ranges and runs them
/// concurrently: the first on the calling thread, the others on the CPU
/// backend's persistent workers (`sdgen_pool_run`, which keep spinning for a
/// moment after each loop so the next one starts at once), or through
/// libdispatch when those are busy (a loop inside a loop's body, or a second
/// thread computing at the same time). Small jobs stay on the calling thread:
/// waking a worker costs more than a few thousand element-wise operations.
/// Runs nothing once the calling thread's `ComputeCancellation` has fired.
@inline(__always)
func parallelFor(_ count: Int, threads: Int, minimumPerThread: Int = 1,
                 _ body: (Range<Int>) -> Void) {
    if ComputeCancellation.currentIsCancelled { return }
    let workers = min(threads, max(1, count / max(1, minimumPerThread)))
    if workers <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        runParticipants(LoopShares(count: count, workers: workers, body: body), workers)
    }
}

/// A loop whose participants 0..<workers each call `run` with their index.
private protocol ParallelLoop: Sendable {
    func run(_ worker: Int)
}

/// Runs `loop` on the calling thread (participant 0) and the pool's workers,
/// or through libdispatch when the pool is busy.
private func runParticipants(_ loop: any ParallelLoop, _ workers: Int) {
    let ran = withUnsafePointer(to: loop) { pointer in
        sdgen_pool_run(Int32(workers), { context, index in
            context!.assumingMemoryBound(to: (any ParallelLoop).self).pointee.run(Int(index))
        }, UnsafeMutableRawPointer(mutating: pointer)) != 0
    }
    if !ran {
        DispatchQueue.concurrentPerform(iterations: workers) { loop.run($0) }
    }
}

/// A parallel loop's split: worker `w` of `workers` runs its contiguous share
/// of `0..<count`. Each worker writes a disjoint range, which is what makes
/// sharing the non-Sendable body safe.
private struct LoopShares: ParallelLoop, @unchecked Sendable {
    let count: Int
    let workers: Int
    let body: (Range<Int>) -> Void

    func run(_ w: Int) {
        let lo = count * w / workers, hi = count * (w + 1) / workers
        if lo < hi { body(lo..<hi) }
    }
}

/// Runs `0..<count` in runs of `chunk`, each taken by whichever of up to
/// `threads` participants is free next. Where `parallelFor` gives each
/// its fixed share, this keeps both cores busy to the end when one of them
/// runs slower for a while, as a VM's vCPU does: with BERT's products split
/// in halves, the calling thread spent 4–8% of a forward pass waiting at the
/// end of loops (`perf`, Zen 3). Runs nothing once the calling thread's
/// `ComputeCancellation` has fired.
func parallelChunks(_ count: Int, chunk: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    if ComputeCancellation.currentIsCancelled || count <= 0 { return }
    let chunk = max(1, chunk)
    let workers = min(threads, (count + chunk - 1) / chunk)
    if workers <= 1 { return body(0..<count) }
    withoutActuallyEscaping(body) { body in
        runParticipants(LoopChunks(count: count, chunk: chunk, next: ChunkCounter(), body: body), workers)
    }
}

/// The next unclaimed index of a `parallelChunks` loop.
private final class ChunkCounter: Sendable {
    let next = Atomic<Int>(0)
}

/// A `parallelChunks` loop: each participant claims runs until none is left.
/// The runs are disjoint, which is what makes sharing the body safe.
private struct LoopChunks: ParallelLoop, @unchecked Sendable {
    let count: Int
    let chunk: Int
    let next: ChunkCounter
    let body: (Range<Int>) -> Void

    func run(_ worker: Int) {
        while true {
            let start = next.next.wrappingAdd(chunk, ordering: .relaxed).oldValue
            if start >= count { return }
            body(start..<min(count, start + chunk))
        }
    }
}

/// Carries a non-Sendable value into worker closures whose data races we rule
/// out by construction (each worker writes a disjoint range).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
