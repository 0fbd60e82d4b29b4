import ArgumentParser
import Foundation

/// A command's failure as users see it: `error: <one line>` on stderr and
/// exit status 1 — not ArgumentParser's "Error: …" for thrown errors.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ message: String) { description = message }

    /// Prints the message; throw the result from `run()`.
    func reported() -> ExitCode {
        FileHandle.standardError.write(Data("error: \(description)\n".utf8))
        return .failure
    }
}
