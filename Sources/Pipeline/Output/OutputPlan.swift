import Foundation
import ImageIO

/// Where each image of a run goes, decided and checked before any work: an
/// explicit path (numbered `-1`, `-2`, … when there are several images), or
/// `outputs/` as `COUNTER-SEED-PROMPT.png`, never overwriting.
public enum OutputPlan {
    /// The folder images go to when no path is given (A1111's outputs/).
    public static let defaultFolder = URL(fileURLWithPath: "outputs")

    /// One destination per image, in order.
    /// - Parameters:
    ///   - images: each image's prompt and seed.
    ///   - explicit: a file path for the images, or nil for `defaultFolder`.
    ///   - overwrite: whether an existing file may be replaced.
    ///   - folder: where images without an explicit path go.
    public static func destinations(for images: [(prompt: String, seed: UInt64)], explicit: URL?,
                                    overwrite: Bool, folder: URL = defaultFolder) throws -> [URL] {
        let manager = FileManager.default
        if let base = explicit {
            // PNG is what is written: a .jpg or .webp name would hold PNG bytes.
            let suffix = base.pathExtension.lowercased()
            guard suffix.isEmpty || suffix == "png" else {
                throw FileAccessError("cannot write \(base.lastPathComponent): sdgen writes PNG images; give a .png name")
            }
            let urls = images.indices.map { OutputNaming.numbered(base, index: $0, of: images.count) }
            // The write's own checks, and a file made and removed as the write will make
            // one: a missing folder, a file in the way, or a folder that takes no files
            // (/proc, a read-only mount — permissions alone pass for root) fail here, not
            // after the run.
            do {
                try AtomicFile.checkWritable(urls.first ?? base)
            } catch {
                throw FileAccessError(error.description)  // it names the path
            }
            if let long = urls.first(where: { $0.lastPathComponent.utf8.count > 255 }) {
                throw FileAccessError("cannot write \(long.path): a file name is at most 255 bytes")
            }
            if !overwrite, let existing = urls.first(where: { manager.fileExists(atPath: $0.path) }) {
                throw FileAccessError("\(existing.path) exists (not overwriting)")
            }
            return urls
        }
        do {
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw FileAccessError("cannot create the output folder \(folder.path)")
        }
        do {
            try AtomicFile.checkWritable(folder.appendingPathComponent("sdgen-output.png"))
        } catch {
            throw FileAccessError("the output folder \(folder.path) is not writable: \(error)")
        }
        let first = OutputNaming.nextCounter(in: folder)
        return images.enumerated().map { index, image in
            folder.appendingPathComponent(OutputNaming.name(counter: first + index, seed: image.seed, prompt: image.prompt))
        }
    }
}

/// A file sdgen cannot read or write (a prompt file, an output path), as one line.
public struct FileAccessError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
