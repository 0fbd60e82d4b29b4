import Foundation

/// Runs blocking work (a generation's kernels, loading a model: seconds of
/// reading and converting weights) on its own thread and awaits it, so async
/// callers — a server's event loops, Swift's cooperative thread pool — are
/// never held by it and keep answering meanwhile.
public func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}
