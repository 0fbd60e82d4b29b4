import TensorCore

/// Asks a running generation to stop. The service checks it before every
/// denoising step and before decoding, and the CPU work of a step or decode
/// under way is abandoned too (`compute`), so a cancel is honoured within
/// about a second even where one step takes minutes; a cancelled generation
/// ends with `GenerationError.cancelled` and hands back no image. Safe to
/// cancel from any thread (a signal handler's, a server's interrupt request).
public final class CancellationToken: Sendable {
    /// The flag itself, which the service also binds around the work whose
    /// results it drops once cancelled.
    let compute = ComputeCancellation()

    public init() {}

    public func cancel() { compute.cancel() }

    public var isCancelled: Bool { compute.isCancelled }

    func check() throws(GenerationError) {
        if isCancelled { throw .cancelled }
    }
}
