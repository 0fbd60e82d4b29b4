import Foundation

/// Asks a running generation to stop. The service checks it before every
/// denoising step and before decoding; a cancelled generation ends with
/// `GenerationError.cancelled` and hands back no image. Safe to cancel from
/// any thread (a signal handler's, a server's interrupt request).
public final class CancellationToken: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    public init() {}

    public func cancel() { lock.withLock { cancelled = true } }

    public var isCancelled: Bool { lock.withLock { cancelled } }

    func check() throws(GenerationError) {
        if isCancelled { throw .cancelled }
    }
}
