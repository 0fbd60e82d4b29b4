import Foundation
import HubDownload
import TestSupport
import XCTest

/// A temporary folder per test, a fake Hub, and helpers to run and check a download.
class DownloadTestCase: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("sdgen-download-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    var weights: URL { folder.appendingPathComponent("weights/tiny-sd") }

    /// Short timeouts and retry delays: every failure a test provokes ends within seconds
    /// (the tests of timeouts pass 1 s; 5 s elsewhere leaves room on a loaded machine).
    func configuration(_ endpoint: URL, token: String? = nil, attempts: Int = 3, idleTimeout: TimeInterval = 5) throws -> HubConfiguration {
        try HubConfiguration(endpoint: endpoint, token: token, idleTimeout: idleTimeout, attempts: attempts, retryDelay: 0.01)
    }

    func downloader(_ endpoint: URL, token: String? = nil, attempts: Int = 3, idleTimeout: TimeInterval = 5,
                    cache: HubCache? = nil, offline: Bool = false) throws -> ModelDownloader {
        ModelDownloader(client: HubClient(configuration: try configuration(endpoint, token: token, attempts: attempts,
                                                                             idleTimeout: idleTimeout)),
                        cache: cache, offline: offline)
    }

    let repository = try! HubRepository(FakeHub.repository)

    /// Runs a download, collecting its events.
    func download(_ downloader: ModelDownloader, revision: String = "main") throws -> (ModelDownloader.Summary, [DownloadEvent]) {
        let events = EventLog()
        let summary = try downloader.download(repository, revision: revision, into: weights, events: events.record)
        return (summary, events.all)
    }

    /// The folder holds exactly the selected files, each equal to its fixture, and no `.part`.
    func assertDownloadedFolderMatchesFixtures(file: StaticString = #filePath, line: UInt = #line) throws {
        let root = FixturePaths.url("pipeline")
        for (path, source) in FakeHub.expectedSelection {
            let downloaded = try Data(contentsOf: weights.appendingPathComponent(path))
            let fixture = try Data(contentsOf: root.appendingPathComponent(source))
            XCTAssertEqual(downloaded, fixture, "\(path) differs from the fixture \(source)", file: file, line: line)
        }
        XCTAssertEqual(Set(try allFiles(in: weights)), Set(FakeHub.expectedSelection.keys),
                       "exactly the selected files, no .part left", file: file, line: line)
    }

    func allFiles(in root: URL) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var files: [String] = []
        while let path = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path, isDirectory: &isDirectory)
            if !isDirectory.boolValue { files.append(path) }
        }
        return files.sorted()
    }

    func elapsed<T>(_ body: () throws -> T) rethrows -> (T, TimeInterval) {
        let start = Date()
        let result = try body()
        return (result, Date().timeIntervalSince(start))
    }
}

/// Events from any thread, in arrival order.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [DownloadEvent] = []

    var record: @Sendable (DownloadEvent) -> Void {
        { [self] event in lock.withLock { events.append(event) } }
    }

    var all: [DownloadEvent] { lock.withLock { events } }
}
