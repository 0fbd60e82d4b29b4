import CPUKernels
import Dispatch

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
        let loop = LoopShares(count: count, workers: workers, body: body)
        let ran = withUnsafePointer(to: loop) { pointer in
            sdgen_pool_run(Int32(workers), { context, index in
                context!.assumingMemoryBound(to: LoopShares.self).pointee.run(Int(index))
            }, UnsafeMutableRawPointer(mutating: pointer)) != 0
        }
        if !ran {
            DispatchQueue.concurrentPerform(iterations: workers) { loop.run($0) }
        }
    }
}

/// A parallel loop's split: worker `w` of `workers` runs its contiguous share
/// of `0..<count`. Each worker writes a disjoint range, which is what makes
/// sharing the non-Sendable body safe.
private struct LoopShares: @unchecked Sendable {
    let count: Int
    let workers: Int
    let body: (Range<Int>) -> Void

    func run(_ w: Int) {
        let lo = count * w / workers, hi = count * (w + 1) / workers
        if lo < hi { body(lo..<hi) }
    }
}

/// Carries a non-Sendable value into worker closures whose data races we rule
/// out by construction (each worker writes a disjoint range).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
