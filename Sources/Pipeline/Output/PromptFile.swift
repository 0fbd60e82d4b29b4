import Foundation

/// A file of prompts, one a line; empty lines and `#` comments are skipped.
public enum PromptFile {
    public static func prompts(at path: String) throws -> [String] {
        // Read as a stream, so a pipe or /dev/stdin serves too.
        guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.readToEnd() ?? Data(),
              let text = String(data: data, encoding: .utf8) else {
            throw FileAccessError("cannot read the prompt file \(path)")
        }
        // Any line break: "\r\n" is one Character, so splitting at "\n" alone kept Windows files whole.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !lines.isEmpty else { throw FileAccessError("the prompt file \(path) has no prompts") }
        return lines
    }
}
