import ArgumentParser

/// The answer of a command whose issue has not landed: said plainly, with a
/// non-zero exit, rather than pretending to work.
struct NotBuiltYet: Error, CustomStringConvertible {
    let command: String
    var description: String { "'sdgen \(command)' is planned but not built yet" }
}
