import Foundation

/// Finds the Stable Diffusion model to use when `--weights` is not given:
/// the one diffusers folder or single-file checkpoint under `weights/`.
public enum WeightsLocator {
    public enum Candidate: Equatable, Sendable {
        case diffusersFolder(URL)
        case singleFile(URL)

        public var url: URL {
            switch self {
            case .diffusersFolder(let url), .singleFile(let url): url
            }
        }
    }

    /// Stable Diffusion models directly under `folder`.
    public static func candidates(in folder: URL) -> [Candidate] {
        let manager = FileManager.default
        guard let entries = try? manager.contentsOfDirectory(at: folder, includingPropertiesForKeys: [.isDirectoryKey],
                                                             options: [.skipsHiddenFiles]) else { return [] }
        return entries.sorted { $0.lastPathComponent < $1.lastPathComponent }.compactMap { entry in
            var isDirectory: ObjCBool = false
            _ = manager.fileExists(atPath: entry.path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                // model_index.json is written last by `sdgen download`, so a
                // half-downloaded folder is not taken for a model.
                let complete = manager.fileExists(atPath: entry.appendingPathComponent("model_index.json").path)
                return complete ? .diffusersFolder(entry) : nil
            }
            return entry.pathExtension == "safetensors" ? .singleFile(entry) : nil
        }
    }

    /// The model to use, or an error that says what to do.
    public static func locate(explicit: String?, defaultFolder: URL) throws -> URL {
        if let explicit {
            let url = URL(fileURLWithPath: explicit)
            guard FileManager.default.fileExists(atPath: url.path) else { throw WeightsError.notFound(url.path) }
            return url
        }
        let found = candidates(in: defaultFolder)
        switch found.count {
        case 1: return found[0].url
        case 0: throw WeightsError.noneFound(defaultFolder.path)
        default: throw WeightsError.ambiguous(defaultFolder.path, found.map(\.url.lastPathComponent))
        }
    }
}

public enum WeightsError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case noneFound(String)
    case ambiguous(String, [String])

    public var description: String { description(option: nil) }

    /// The message with the way to name a model spelled as `option` (a CLI
    /// flag such as "--weights"), or in plain words when nil.
    public func description(option: String?) -> String {
        switch self {
        case .notFound(let path):
            "\(option.map { "\($0) " } ?? "")\(path): no such file or folder"
        case .noneFound(let folder):
            "no Stable Diffusion weights in \(folder)/: run 'sdgen download', or put a diffusers folder or a single-file .safetensors checkpoint there (or \(option.map { "pass \($0) PATH" } ?? "name one explicitly"))"
        case .ambiguous(let folder, let names):
            "several models in \(folder)/ (\(names.joined(separator: ", "))): \(option.map { "choose one with \($0) PATH" } ?? "name the one to use")"
        }
    }
}
