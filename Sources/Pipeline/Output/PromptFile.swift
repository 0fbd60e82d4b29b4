import Foundation

/// A file of prompts, one a line; empty lines and `#` comments are skipped.
public enum PromptFile {
    public static func prompts(at path: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FileAccessError("cannot read the prompt file \(path)")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !lines.isEmpty else { throw FileAccessError("the prompt file \(path) has no prompts") }
        return lines
    }
}
