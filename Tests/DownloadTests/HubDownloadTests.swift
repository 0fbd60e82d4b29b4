import Foundation
import HubDownload
import Models
import TensorCore
import TestSupport
import XCTest

/// A whole download from the fake Hub: the right files, byte for byte, loadable.
final class HubDownloadTests: DownloadTestCase {
    func testFullDownloadFetchesTheSelectedFilesVerifiedAndLoadable() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        let (summary, events) = try download(try downloader(hub.endpoint))

        XCTAssertEqual(summary.commit, FakeHub.commit)
        XCTAssertEqual(Set(summary.files.map(\.path)), Set(FakeHub.expectedSelection.keys))
        XCTAssertEqual(summary.files.last?.path, "model_index.json", "the index arrives last")
        XCTAssertEqual(summary.downloadedBytes, summary.totalBytes)
        try assertDownloadedFolderMatchesFixtures()

        // Nothing else was fetched: no pickles, no f32 weights where fp16 exists, no safety checker.
        let fetched = Set(hub.fileRequests.compactMap(hub.filePath(of:)))
        XCTAssertEqual(fetched, Set(FakeHub.expectedSelection.keys))
        // The weights came through the CDN redirect, the small files from the Hub itself.
        XCTAssertEqual(Set(hub.cdn.requests.compactMap(hub.filePath(of:))),
                       ["unet/diffusion_pytorch_model.fp16.safetensors", "text_encoder/model.fp16.safetensors",
                        "vae/diffusion_pytorch_model.safetensors"])
        XCTAssertTrue(hub.requests.allSatisfy { $0.headers["authorization"] == nil }, "no token, no Authorization")
        XCTAssertTrue(hub.fileRequests.allSatisfy { $0.headers["accept-encoding"] == "identity" })
        XCTAssertTrue(hub.fileRequests.allSatisfy { $0.headers["range"] == nil }, "nothing to resume")

        // The events add up: every file started and finished, and every byte was reported.
        let received = events.reduce(Int64(0)) { total, event in
            if case .received(_, let bytes) = event { return total + bytes }
            return total
        }
        XCTAssertEqual(received, summary.totalBytes)
        XCTAssertEqual(events.filter { if case .fileFinished = $0 { true } else { false } }.count, summary.files.count)

        // The downloaded folder is a Stable Diffusion checkpoint sdgen loads (fp16-named files included).
        let checkpoint = try StableDiffusionCheckpoint(url: weights, backend: TestBackends.cpu)
        XCTAssertEqual(checkpoint.layout, .diffusersFolder)
        XCTAssertNotNil(checkpoint.tokenizerFolders.first ?? nil)
        XCTAssertNotNil(checkpoint.schedulerConfiguration)
    }

    func testASecondRunFindsEverythingPresentAndFetchesNoFile() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        _ = try download(try downloader(hub.endpoint))
        let fileRequestsBefore = hub.fileRequests.count

        let (summary, events) = try download(try downloader(hub.endpoint))
        XCTAssertEqual(hub.fileRequests.count, fileRequestsBefore, "verified in place, not fetched again")
        XCTAssertEqual(Set(summary.alreadyPresent), Set(FakeHub.expectedSelection.keys))
        XCTAssertEqual(summary.downloadedBytes, 0)
        XCTAssertTrue(events.contains(.fileStarted(path: "unet/config.json", size: summary.files.first { $0.path == "unet/config.json" }!.size,
                                                   source: .present)))
        try assertDownloadedFolderMatchesFixtures()
    }

    func testAFileChangedOnDiskIsFetchedAgain() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        _ = try download(try downloader(hub.endpoint))
        let vae = weights.appendingPathComponent("vae/diffusion_pytorch_model.safetensors")
        var bytes = try Data(contentsOf: vae)
        bytes[100] ^= 1
        try bytes.write(to: vae)

        let (summary, _) = try download(try downloader(hub.endpoint))
        XCTAssertEqual(summary.alreadyPresent.count, FakeHub.expectedSelection.count - 1)
        XCTAssertEqual(summary.downloadedBytes, Int64(bytes.count))
        try assertDownloadedFolderMatchesFixtures()
    }

    func testListingPagesAreFollowed() throws {
        let hub = try FakeHub(pageSize: 4)
        defer { hub.stop() }
        _ = try download(try downloader(hub.endpoint))
        let pages = hub.hub.requests.filter { $0.path.contains("/tree/") }
        XCTAssertGreaterThan(pages.count, 5, "the listing spans several pages")
        XCTAssertTrue(pages.allSatisfy { $0.query?.contains("recursive=true") == true })
        try assertDownloadedFolderMatchesFixtures()
    }

    func testAnExplicitCommitIsUsedAsTheRevision() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        let (summary, _) = try download(try downloader(hub.endpoint), revision: FakeHub.commit)
        XCTAssertEqual(summary.commit, FakeHub.commit)
        XCTAssertTrue(hub.hub.requests.contains { $0.path.hasSuffix("/revision/\(FakeHub.commit)") })
        try assertDownloadedFolderMatchesFixtures()
    }

    func testTheTokenGoesToTheHubButNotToTheCDN() throws {
        let hub = try FakeHub(requiredToken: "hf_test_token")
        defer { hub.stop() }
        _ = try download(try downloader(hub.endpoint, token: "hf_test_token"))
        try assertDownloadedFolderMatchesFixtures()
        XCTAssertFalse(hub.hub.requests.isEmpty)
        XCTAssertTrue(hub.hub.requests.allSatisfy { $0.headers["authorization"] == "Bearer hf_test_token" })
        XCTAssertFalse(hub.cdn.requests.isEmpty)
        XCTAssertTrue(hub.cdn.requests.allSatisfy { $0.headers["authorization"] == nil },
                      "credentials stay with the endpoint when a redirect leaves its origin")
    }
}
