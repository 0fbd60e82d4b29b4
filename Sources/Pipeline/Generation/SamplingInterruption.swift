import Foundation
import TensorCore

/// Ends sampling early but keeps the image, as A1111's Interrupt and Skip
/// buttons (and its `/sdapi/v1/interrupt`, `/skip`) do: the current image's
/// latents so far are decoded and returned. Interrupt then makes no further
/// image of the request; skip goes on with the next one. Unlike
/// `CancellationToken`, which ends a generation with no image at all.
/// The step under way is abandoned rather than waited for (on the CPU, see
/// `ComputeCancellation`): the latents from before it are decoded.
/// Safe to use from any thread.
public final class SamplingInterruption: @unchecked Sendable {
    private let lock = NSLock()
    private var interrupted = false
    private var skipping = false
    private var step: ComputeCancellation?

    public init() {}

    /// Ends the current image now and makes no further image.
    public func interrupt() {
        lock.withLock {
            interrupted = true
            step?.cancel()
        }
    }

    /// Ends the current image now; the next image starts as usual.
    public func skip() {
        lock.withLock {
            skipping = true
            step?.cancel()
        }
    }

    public var isInterrupted: Bool { lock.withLock { interrupted } }

    /// Whether the current image's sampling should end now; a skip is used up by asking.
    func endsSampling() -> Bool {
        lock.withLock {
            defer { skipping = false }
            return interrupted || skipping
        }
    }

    /// A cancellation for the next step's work that an interrupt or skip fires,
    /// inside the calling thread's own (`ComputeCancellation.current`).
    func stepCancellation() -> ComputeCancellation {
        let cancellation = ComputeCancellation(parent: ComputeCancellation.current)
        lock.withLock { step = cancellation }
        return cancellation
    }
}
