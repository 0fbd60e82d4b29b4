import Dispatch

/// Splits `0..<count` into at most `threads` contiguous ranges and runs them
/// concurrently. Small jobs stay on the calling thread: waking a worker costs
/// more than a few thousand element-wise operations. Runs nothing once the
/// calling thread's `ComputeCancellation` has fired.
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
        let box = UncheckedBox(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            if lo < hi { box.value(lo..<hi) }
        }
    }
}

/// Carries a non-Sendable value into worker closures whose data races we rule
/// out by construction (each worker writes a disjoint range).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
