import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Notices a client hanging up while its job waits in the queue or runs.
/// NIO's HTTP pipeline reads nothing more from a connection until its
/// answer is written (so pipelined requests stay in order), so the client's
/// end of stream would go unseen for as long as the job takes; the kernel
/// knows, though: the socket is in CLOSE_WAIT. Polled a few times a second.
enum HangUpWatch {
    static let interval: Duration = .milliseconds(200)

    /// Calls `onHangUp` once, when the peer has closed; cancel the task when the answer is out.
    static func start(_ channel: any Channel, onHangUp: @escaping @Sendable () -> Void) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                if await hasHungUp(channel) {
                    onHangUp()
                    return
                }
            }
        }
    }

    static func hasHungUp(_ channel: any Channel) async -> Bool {
        guard channel.isActive else { return true }
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider,
              let info = try? await provider.getTCPInfo().get() else { return false }
        return Int32(info.tcpi_state) == Int32(TCP_CLOSE_WAIT)
        #else
        return false
        #endif
    }
}
