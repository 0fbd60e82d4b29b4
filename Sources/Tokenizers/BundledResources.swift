import Foundation

/// Finds the files SwiftPM copies from `Sources/Tokenizers/Resources`.
///
/// SwiftPM puts them in `sdgen_Tokenizers.resources/` next to the built
/// executable (and the test runner). Its generated `Bundle.module` would
/// find them too, but it stops the process with `fatalError` when the
/// folder is missing (say, a binary copied without it); looking ourselves
/// turns that into an error the caller can report. The source tree is the
/// last resort, so a development build works from anywhere.
enum BundledResources {
    static let bundleName = "sdgen_Tokenizers"

    static func url(for name: String) throws -> URL {
        let executableFolder = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent()
        let roots = [executableFolder, Bundle.main.bundleURL, Bundle.main.resourceURL].compactMap { $0 }
        var candidates: [URL] = []
        for root in roots {
            candidates.append(root.appendingPathComponent("\(bundleName).resources/Resources/\(name)"))
            candidates.append(root.appendingPathComponent("\(bundleName).bundle/Contents/Resources/Resources/\(name)"))
            candidates.append(root.appendingPathComponent("\(bundleName).bundle/Resources/\(name)"))
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Resources/\(name)"))
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            return found
        }
        throw TokenizerError("the bundled \(name) is missing: copy \(bundleName).resources from the build folder next to the sdgen executable",
                             path: candidates[0].path)
    }
}
