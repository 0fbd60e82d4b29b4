import Foundation

/// Where the committed reference fixtures live, found from this source file
/// so tests need no bundle resources (the fixtures are read in place).
public enum FixturePaths {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // TestSupport
        .deletingLastPathComponent()   // Tests
        .appendingPathComponent("Fixtures", isDirectory: true)

    public static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }
}
