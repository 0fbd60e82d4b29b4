import Foundation

/// Everything that can go wrong while loading or running a tokenizer, each
/// case describing itself in one line that names the file and the problem,
/// so a command can print it as `error: <line>` without further context.
public struct TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (or folder) the problem is about, when there is one.
    public let path: String?
    public let problem: String

    public init(_ problem: String, path: String? = nil) {
        self.problem = problem
        self.path = path
    }

    init(_ problem: String, url: URL) {
        self.init(problem, path: url.path)
    }

    public var description: String {
        guard let path else { return problem }
        return "\(path): \(problem)"
    }
}
