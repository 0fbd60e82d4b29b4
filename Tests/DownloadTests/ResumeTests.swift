import Foundation
import HubDownload
import XCTest

/// Interrupted transfers continue where they stopped, with an HTTP Range request.
final class ResumeTests: DownloadTestCase {
    let unet = "unet/diffusion_pytorch_model.fp16.safetensors"

    func testACutConnectionIsResumedWithARangeRequest() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        hub.setFault(.cut(after: 300_000, times: 1), for: unet)

        let (_, events) = try download(try downloader(hub.endpoint))
        try assertDownloadedFolderMatchesFixtures()

        let unetRequests = hub.cdn.requests.filter { hub.filePath(of: $0) == unet }
        XCTAssertEqual(unetRequests.count, 2)
        XCTAssertNil(unetRequests[0].headers["range"])
        XCTAssertEqual(unetRequests[1].headers["range"], "bytes=300000-", "resumed exactly where the cut was")
        XCTAssertTrue(events.contains { event in
            if case .retrying(unet, 300_000, _, _) = event { return true }
            return false
        })
    }

    func testAPartLeftByAnInterruptedRunIsResumedByTheNextRun() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        hub.setFault(.cut(after: 250_000, times: 1), for: unet)

        // One try only: the first run fails and leaves the part.
        XCTAssertThrowsError(try download(try downloader(hub.endpoint, attempts: 1))) { error in
            guard case .connectionLost(_, _) = error as? HubError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("run the same command again"), "\(error)")
        }
        let part = weights.appendingPathComponent(unet + ".part")
        XCTAssertEqual(try Data(contentsOf: part).count, 250_000)
        XCTAssertFalse(FileManager.default.fileExists(atPath: weights.appendingPathComponent(unet).path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: weights.appendingPathComponent("model_index.json").path),
                       "an unfinished folder has no model_index.json")

        let (summary, events) = try download(try downloader(hub.endpoint))
        try assertDownloadedFolderMatchesFixtures()
        XCTAssertEqual(hub.cdn.requests.last { hub.filePath(of: $0) == unet }?.headers["range"], "bytes=250000-")
        XCTAssertTrue(events.contains { event in
            if case .fileStarted(unet, _, .resumed(from: 250_000)) = event { return true }
            return false
        })
        // The files before unet arrived in the first run; unet's first 250 000 bytes too.
        let present = summary.files.filter { summary.alreadyPresent.contains($0.path) }.reduce(Int64(0)) { $0 + $1.size }
        XCTAssertFalse(summary.alreadyPresent.contains(unet))
        XCTAssertEqual(summary.downloadedBytes, summary.totalBytes - present - 250_000, "the part's bytes were not fetched again")
    }

    func testAServerThatIgnoresRangeRestartsTheFile() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        hub.setFault(.cut(after: 200_000, times: 1), for: unet)
        XCTAssertThrowsError(try download(try downloader(hub.endpoint, attempts: 1)))

        hub.setFault(.ignoreRange, for: unet)
        _ = try download(try downloader(hub.endpoint))
        try assertDownloadedFolderMatchesFixtures()
        XCTAssertEqual(hub.cdn.requests.last { hub.filePath(of: $0) == unet }?.headers["range"], "bytes=200000-",
                       "asked to resume; got 200 with the whole file and started over")
    }

    func testRepeatedCutsAreRetriedWhileTheyMakeProgress() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        // More cuts than `attempts`, but each try brings bytes, so the count resets.
        hub.setFault(.cut(after: 100_000, times: 6), for: unet)
        _ = try download(try downloader(hub.endpoint, attempts: 2))
        try assertDownloadedFolderMatchesFixtures()
        XCTAssertEqual(hub.cdn.requests.filter { hub.filePath(of: $0) == unet }.count, 7)
    }

    func testCutsWithoutProgressGiveUpAfterTheAttempts() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        hub.setFault(.cut(after: 0, times: 100), for: unet)
        XCTAssertThrowsError(try download(try downloader(hub.endpoint, attempts: 3))) { error in
            guard case .connectionLost(_, _) = error as? HubError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(hub.cdn.requests.filter { hub.filePath(of: $0) == unet }.count, 3)
    }
}

/// Two downloads into one folder would append to the same parts.
final class FolderLockTests: DownloadTestCase {
    func testASecondDownloadIntoTheSameFolderIsRefusedWhileTheFirstRuns() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        let unet = "unet/diffusion_pytorch_model.fp16.safetensors"
        hub.setFault(.silent, for: unet)   // holds the first download inside unet
        let first = try downloader(hub.endpoint, attempts: 1, idleTimeout: 3)
        let firstDone = expectation(description: "first download ends")
        let weights = self.weights
        let repository = self.repository
        DispatchQueue.global().async {
            _ = try? first.download(repository, revision: "main", into: weights)
            firstDone.fulfill()
        }
        // Wait (bounded) until the first one is waiting on unet.
        for _ in 0..<200 where !hub.cdn.requests.contains(where: { hub.filePath(of: $0) == unet }) { usleep(10_000) }

        XCTAssertThrowsError(try download(try downloader(hub.endpoint))) { error in
            XCTAssertEqual(error as? HubError, .folderBusy(path: weights.path))
        }
        wait(for: [firstDone], timeout: 10)
        hub.setFault(nil, for: unet)
        _ = try download(try downloader(hub.endpoint))
        try assertDownloadedFolderMatchesFixtures()
    }
}
