/// A command's failure in one line; SDGen.main prints it as `error: …`.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ message: String) { description = message }
}
