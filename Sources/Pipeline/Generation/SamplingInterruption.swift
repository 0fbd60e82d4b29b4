import Foundation

/// Ends sampling early but keeps the image, as A1111's Interrupt and Skip
/// buttons (and its `/sdapi/v1/interrupt`, `/skip`) do: the current image's
/// latents so far are decoded and returned. Interrupt then makes no further
/// image of the request; skip goes on with the next one. Unlike
/// `CancellationToken`, which ends a generation with no image at all.
/// Safe to use from any thread.
public final class SamplingInterruption: @unchecked Sendable {
    private let lock = NSLock()
    private var interrupted = false
    private var skipping = false

    public init() {}

    /// Ends the current image at the next step and makes no further image.
    public func interrupt() { lock.withLock { interrupted = true } }

    /// Ends the current image at the next step; the next image starts as usual.
    public func skip() { lock.withLock { skipping = true } }

    public var isInterrupted: Bool { lock.withLock { interrupted } }

    /// Whether the current image's sampling should end now; a skip is used up by asking.
    func endsSampling() -> Bool {
        lock.withLock {
            defer { skipping = false }
            return interrupted || skipping
        }
    }
}
