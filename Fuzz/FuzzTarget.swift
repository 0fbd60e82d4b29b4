import Foundation

/// One parser of outside bytes under fuzzing: `run` feeds it one input and
/// must return (accepting or refusing it with an error) — a trap, a hang or
/// a sanitizer report is a finding.
struct FuzzTarget: Sendable {
    let name: String
    /// What the input is, for `sdgen-fuzz --help` and scripts/fuzz.sh.
    let input: String
    let run: @Sendable (Data) -> Void

    /// The registry: scripts/fuzz.sh runs each of these.
    static let all: [FuzzTarget] = [
        .safetensors, .configuration, .clipTokenizerFiles, .tokenizerJSON, .wordPiece, .sentencePiece, .png,
        .infotext, .prompt, .image,
    ]

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// A private scratch folder: the loaders under test read files, as they do
/// from a user's weights/ folder.
enum Scratch {
    static let folder: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm")
                                                                        : FileManager.default.temporaryDirectory
        let url = base.appendingPathComponent("sdgen-fuzz-\(getpid())", isDirectory: true)
        try? FileManager.default.removeItem(at: url)
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Scratch.folder) }
        return url
    }()

    /// Writes `files` (name → bytes) into a fresh sub-folder and returns it.
    static func write(_ files: [String: Data]) -> URL {
        let folder = Self.folder.appendingPathComponent("input", isDirectory: true)
        try? FileManager.default.removeItem(at: folder)
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, data) in files { try! data.write(to: folder.appendingPathComponent(name)) }
        return folder
    }

    /// The input cut at NUL bytes into at most `count` parts (several files from one input).
    static func parts(_ data: Data, count: Int) -> [Data] {
        var parts = data.split(separator: 0, maxSplits: count - 1, omittingEmptySubsequences: false).map { Data($0) }
        while parts.count < count { parts.append(Data()) }
        return parts
    }
}

/// Strings each loaded tokenizer must encode: ASCII, weights syntax, Unicode, control characters.
let sampleTexts = ["a photo of an astronaut riding a horse, (masterpiece:1.2)", "Ünïcödé 漢字 🦊 \u{0}\u{7}",
                   String(repeating: "long ", count: 100)]
