import Foundation

/// File names for generated images: `outputs/00012-1234567-astronaut-riding-a-horse.png`
/// (a counter, the seed, a slug of the prompt), never overwriting an existing image.
public enum OutputNaming {
    /// A lower-case, dash-separated, length-limited form of the prompt.
    public static func slug(_ prompt: String, maximumLength: Int = 48) -> String {
        var slug = ""
        var pendingDash = false
        for scalar in prompt.lowercased().unicodeScalars {
            if CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII {
                if pendingDash && !slug.isEmpty { slug.append("-") }
                slug.unicodeScalars.append(scalar)
                pendingDash = false
                if slug.count >= maximumLength { break }
            } else {
                pendingDash = true
            }
        }
        return slug.isEmpty ? "image" : slug
    }

    /// The next counter after every `NNNNN-…` file already in `folder`.
    public static func nextCounter(in folder: URL) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let used = names.compactMap { name -> Int? in
            guard let dash = name.firstIndex(of: "-") else { return nil }
            return Int(name[..<dash])
        }
        return (used.max() ?? -1) + 1
    }

    public static func name(counter: Int, seed: UInt64, prompt: String) -> String {
        String(format: "%05d-", counter) + "\(seed)-\(slug(prompt)).png"
    }

    /// `-o out.png` for several images becomes out-1.png, out-2.png, ….
    public static func numbered(_ url: URL, index: Int, of count: Int) -> URL {
        guard count > 1 else { return url }
        let base = url.deletingPathExtension()
        let ext = url.pathExtension.isEmpty ? "png" : url.pathExtension
        return base.deletingLastPathComponent()
            .appendingPathComponent("\(base.lastPathComponent)-\(index + 1)").appendingPathExtension(ext)
    }
}
