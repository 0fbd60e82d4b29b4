import Foundation
import Pipeline

/// The models a client may choose (`sd_model_checkpoint`, `/sd-models`):
/// the diffusers folders and single files directly under the weights
/// folder, plus the one the server was started with. Clients name them by
/// title or model name, never by path, so no request reaches another file.
public struct ModelCatalog: Sendable {
    public struct Entry: Sendable, Equatable {
        /// A1111's title: the file or folder name ("v1-5-pruned-emaonly.safetensors", "stable-diffusion-v1-5").
        public let title: String
        /// The title without a file extension.
        public let modelName: String
        public let url: URL
    }

    public let folder: URL
    public private(set) var entries: [Entry]
    private let extra: URL?

    /// - Parameter including: a model outside `folder` to offer as well (`serve --weights PATH`).
    public init(folder: URL, including extra: URL? = nil) {
        self.folder = folder
        self.extra = extra
        entries = []
        refresh()
    }

    /// Scans the folder again (`/sdapi/v1/refresh-checkpoints`).
    public mutating func refresh() {
        var urls = WeightsLocator.candidates(in: folder).map(\.url)
        if let extra, !urls.contains(where: { $0.standardizedFileURL == extra.standardizedFileURL }) { urls.append(extra) }
        entries = urls.map { url in
            let title = url.lastPathComponent
            let name = url.pathExtension == "safetensors" ? url.deletingPathExtension().lastPathComponent : title
            return Entry(title: title, modelName: name, url: url)
        }
    }

    /// The entry a client names: its title or model name, optionally with
    /// an A1111 hash suffix ("name.safetensors [6ce0161689]").
    public func entry(named name: String) -> Entry? {
        var wanted = name.trimmingCharacters(in: .whitespaces)
        if wanted.hasSuffix("]"), let open = wanted.lastIndex(of: "[") {
            wanted = wanted[..<open].trimmingCharacters(in: .whitespaces)
        }
        return entries.first { $0.title == wanted } ?? entries.first { $0.modelName == wanted }
    }

    /// The entry for a path the server was started with.
    public func entry(at url: URL) -> Entry? {
        entries.first { $0.url.standardizedFileURL == url.standardizedFileURL }
    }
}
