import Crypto
import Foundation
import Models
import PromptLanguage

/// The LoRA files a request may name: a path, or a name under the LoRA
/// folder (`--lora-dir`, default weights/lora) found as `NAME.safetensors`
/// anywhere below it, as A1111 indexes its Lora folder. Parsed files and
/// hashes are kept, so a server applies a LoRA again without rereading it.
public final class LoRALibrary: @unchecked Sendable {
    public static let defaultFolder = URL(fileURLWithPath: "weights/lora")

    public let folder: URL
    /// Whether a selection may name a file by path; a server's requests may
    /// name only the files under the folder, so no client picks a path to read.
    public let allowsPaths: Bool
    private let lock = NSLock()
    private var files: [String: LoRAFile] = [:]
    private var hashes: [String: String] = [:]

    public init(folder: URL = LoRALibrary.defaultFolder, allowsPaths: Bool = true) {
        self.folder = folder
        self.allowsPaths = allowsPaths
    }

    /// The LoRA files under the folder, any depth, by name (`NAME.safetensors` → NAME), sorted.
    public func available() -> [(name: String, url: URL)] {
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil,
                                                          options: [.skipsHiddenFiles]) else { return [] }
        var found: [(name: String, url: URL)] = []
        for case let url as URL in walker where url.pathExtension == "safetensors" {
            found.append((url.deletingPathExtension().lastPathComponent, url))
        }
        return found.sorted { $0.name < $1.name }
    }

    /// Each selection's file, parsed, with its multipliers.
    public func resolve(_ selections: [LoRASelection]) throws -> [AppliedLoRA] {
        try selections.map { selection in
            let url = try locate(selection.name)
            do {
                return AppliedLoRA(file: try file(url), shortHash: try shortHash(url),
                                   textEncoderWeight: selection.textEncoderWeight, unetWeight: selection.unetWeight)
            } catch let error as LoRALibraryError {
                throw error
            } catch {
                // Named as the prompt names it: the folder's path is the server's business.
                throw LoRALibraryError.invalid(name: selection.name,
                                               reason: "\(error)".replacingOccurrences(of: url.path, with: url.lastPathComponent))
            }
        }
    }

    /// A path that exists, else `NAME.safetensors` under the folder.
    func locate(_ name: String) throws -> URL {
        if !allowsPaths {
            // A bare name only: no separators, no parent folders, nothing hidden.
            guard !name.isEmpty, !name.contains("/"), !name.contains("\\"), !name.hasPrefix("."),
                  let match = available().first(where: { $0.name == name || $0.url.lastPathComponent == name }) else {
                throw LoRALibraryError.notFound(name: name, folder: folder.path)
            }
            return match.url
        }
        let direct = URL(fileURLWithPath: name)
        if name.hasSuffix(".safetensors") || name.contains("/"),
           FileManager.default.fileExists(atPath: direct.path) { return direct }
        let wanted = name.hasSuffix(".safetensors") ? name : name + ".safetensors"
        let flat = folder.appendingPathComponent(wanted)
        if FileManager.default.fileExists(atPath: flat.path) { return flat }
        if let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) {
            for case let url as URL in walker where url.lastPathComponent == wanted { return url }
        }
        throw LoRALibraryError.notFound(name: name, folder: folder.path)
    }

    private func file(_ url: URL) throws -> LoRAFile {
        let key = url.standardizedFileURL.path
        if let known = lock.withLock({ files[key] }) { return known }
        let parsed = try LoRAFile(url: url)
        lock.withLock { files[key] = parsed }
        return parsed
    }

    /// A1111's short hash of a safetensors LoRA (`hashes.sha256(…, use_addnet_hash=True)`):
    /// the first 12 hex digits of the SHA-256 of the file after its header, so
    /// editing the metadata does not change it.
    func shortHash(_ url: URL) throws -> String {
        let key = url.standardizedFileURL.path
        if let known = lock.withLock({ hashes[key] }) { return known }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let length = try handle.read(upToCount: 8) ?? Data()
        guard length.count == 8 else { throw LoRALibraryError.unreadable(path: url.path) }
        let headerLength = length.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        try handle.seek(toOffset: 8 + headerLength)
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        let short = String(digest.prefix(12))
        lock.withLock { hashes[key] = short }
        return short
    }
}

public enum LoRALibraryError: Error, CustomStringConvertible, Equatable {
    case notFound(name: String, folder: String)
    case unreadable(path: String)
    /// A file found under the name that is no LoRA sdgen can read (corrupt, or not a LoRA).
    case invalid(name: String, reason: String)
    /// A bundle assembled by hand, not loaded from a source, cannot load again with LoRAs.
    case notReloadable

    public var description: String {
        switch self {
        case let .notFound(name, folder):
            "no LoRA '\(name)': not a file, and no \(name.hasSuffix(".safetensors") ? name : name + ".safetensors") under \(folder)"
        case let .unreadable(path): "\(path): cannot read the LoRA file"
        case let .invalid(name, reason): "the LoRA '\(name)' cannot be used: \(reason)"
        case .notReloadable: "this model was not loaded from a checkpoint, so it cannot load LoRAs"
        }
    }
}
