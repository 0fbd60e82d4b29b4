import Foundation

/// A one-line status on stderr that rewrites itself, for long runs.
enum Progress {
    static let isTerminal = isatty(STDERR_FILENO) != 0

    static func line(_ text: String) {
        guard isTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
    }

    static func clear() {
        guard isTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
