import Dispatch
import Foundation
import Pipeline

/// SIGINT and SIGTERM during a generation cancel it at the next step: the
/// unfinished image is never written (PNGs appear whole or not at all) and
/// the command ends with one line and status 128 + the signal. A second
/// signal while the first is being honoured ends the process at once, with
/// the same status.
final class SignalCancellation: @unchecked Sendable {
    let token = CancellationToken()
    private let lock = NSLock()
    private var received: Int32?
    private var sources: [DispatchSourceSignal] = []

    init(signals: [Int32] = [SIGINT, SIGTERM]) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.receive(number) }
            source.resume()
            sources.append(source)
        }
    }

    /// The signal that cancelled the run, if one did.
    var signalReceived: Int32? { lock.withLock { received } }

    private func receive(_ number: Int32) {
        let first = lock.withLock { () -> Bool in
            defer { received = received ?? number }
            return received == nil
        }
        if first {
            token.cancel()
        } else {
            // Not raise(): this handler runs on a libdispatch thread that blocks
            // the signal, so a re-raised one stayed pending and nothing ended.
            _exit(128 + number)
        }
    }

    /// The error to end the command with when `error` is the cancellation a signal caused.
    func failure(for error: any Error) -> (any Error)? {
        guard let number = signalReceived, error as? GenerationError == .cancelled else { return nil }
        return Interrupted(signal: number)
    }
}

/// A run stopped by a signal: `error: interrupted by SIGINT …`, status 128 + signal.
struct Interrupted: Error, CustomStringConvertible {
    let signal: Int32

    var name: String { signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)" }
    var description: String { "interrupted by \(name); the unfinished image was not written" }
    var exitCode: Int32 { 128 + signal }
}
