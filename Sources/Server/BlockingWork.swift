import Foundation

/// Runs blocking work (loading a model: seconds of reading and converting
/// weights) on its own thread, so the server's event loops and the
/// cooperative thread pool keep answering progress polls meanwhile.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}
