import Synchronization

/// Abandons CPU work already under way. While a cancelled instance is bound
/// to `current` on the thread that calls the backend, the CPU backend's
/// parallel loops (`parallelFor`, `splitProduct`) skip their bodies, so the
/// rest of a forward pass returns at once with tensors whose values mean
/// nothing — a denoising step of a 4-megapixel image or a long attention is
/// otherwise minutes that a Ctrl-C or a server's cancel must wait out.
/// Long loops check `isCancelled` between their tasks as well.
///
/// Bind it only around work whose every result the caller discards once
/// cancelled (a denoising loop, a decode), never around loading weights or
/// filling anything that outlives the call.
public final class ComputeCancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    private let parent: ComputeCancellation?

    /// - Parameter parent: a cancellation this one also answers to (a
    ///   step's own, inside the whole generation's).
    public init(parent: ComputeCancellation? = nil) { self.parent = parent }

    public func cancel() { flag.store(true, ordering: .relaxed) }

    public var isCancelled: Bool { flag.load(ordering: .relaxed) || parent?.isCancelled == true }

    /// The cancellation the calling thread's CPU work answers to, if any.
    @TaskLocal public static var current: ComputeCancellation?

    /// Whether the calling thread's bound cancellation (if any) has fired.
    static var currentIsCancelled: Bool { current?.isCancelled == true }
}
