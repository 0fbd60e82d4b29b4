import Foundation
import HubDownload
import XCTest

/// Failures end quickly in one line that says what to do.
final class HubErrorTests: DownloadTestCase {
    func testA401WithoutATokenPointsToHFToken() throws {
        let hub = try FakeHub(requiredToken: "hf_secret")
        defer { hub.stop() }
        XCTAssertThrowsError(try download(try downloader(hub.endpoint))) { error in
            XCTAssertEqual(error as? HubError, .authenticationRequired(repository: FakeHub.repository))
            XCTAssertTrue("\(error)".contains("set HF_TOKEN"), "\(error)")
        }
        XCTAssertEqual(hub.hub.requests.count, 1, "no retry on 401")
    }

    func testARefusedTokenIsNamed() throws {
        let hub = try FakeHub(requiredToken: "hf_secret")
        defer { hub.stop() }
        XCTAssertThrowsError(try download(try downloader(hub.endpoint, token: "hf_wrong"))) { error in
            XCTAssertEqual(error as? HubError, .invalidToken(repository: FakeHub.repository))
            XCTAssertTrue("\(error)".contains("refused the token in HF_TOKEN"), "\(error)")
        }
    }

    func testA401OnAFileAlsoPointsToHFToken() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        hub.setFault(.status(401, headers: ["X-Error-Code": "GatedRepo"]), for: "unet/diffusion_pytorch_model.fp16.safetensors")
        XCTAssertThrowsError(try download(try downloader(hub.endpoint))) { error in
            XCTAssertEqual(error as? HubError, .authenticationRequired(repository: FakeHub.repository))
        }
    }

    func testA404NamesTheMissingFile() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        hub.setFault(.status(404, headers: ["X-Error-Code": "EntryNotFound"]), for: "vae/config.json")
        XCTAssertThrowsError(try download(try downloader(hub.endpoint))) { error in
            XCTAssertEqual(error as? HubError, .fileNotFound(repository: FakeHub.repository, revision: FakeHub.commit,
                                                             path: "vae/config.json"))
            XCTAssertTrue("\(error)".hasPrefix("vae/config.json is missing from \(FakeHub.repository)"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: weights.appendingPathComponent("vae/config.json").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: weights.appendingPathComponent("vae/config.json.part").path))
    }

    func testAnUnknownRepositoryOrRevisionIsNamed() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        let client = HubClient(configuration: try configuration(hub.endpoint))
        XCTAssertThrowsError(try client.listing(of: try HubRepository("test-org/no-such-model"), revision: "main")) { error in
            XCTAssertEqual(error as? HubError, .repositoryNotFound(repository: "test-org/no-such-model",
                                                                   endpoint: hub.endpoint.absoluteString))
        }
        XCTAssertThrowsError(try client.listing(of: repository, revision: "v9")) { error in
            XCTAssertEqual(error as? HubError, .revisionNotFound(repository: FakeHub.repository, revision: "v9"))
        }
    }

    func testAnUnreachableEndpointFailsQuicklyAndClearly() throws {
        let endpoint = URL(string: "http://127.0.0.1:\(try LoopbackHTTPServer.closedPort())")!
        let (result, seconds) = elapsed { Result { try download(try downloader(endpoint)) } }
        XCTAssertLessThan(seconds, 5)
        XCTAssertThrowsError(try result.get()) { error in
            XCTAssertEqual(error as? HubError, .unreachable(endpoint: endpoint.absoluteString, reason: "connection refused"))
            XCTAssertTrue("\(error)".hasPrefix("cannot reach \(endpoint.absoluteString) (connection refused)"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: weights.path), "nothing written")
    }

    func testASilentServerTimesOut() throws {
        let silent = try LoopbackHTTPServer { _ in .silent }
        defer { silent.stop() }
        let (result, seconds) = elapsed { Result { try download(try downloader(silent.baseURL, idleTimeout: 1)) } }
        XCTAssertLessThan(seconds, 6, "bounded by the idle timeout")
        XCTAssertThrowsError(try result.get()) { error in
            guard case .timedOut(_, 1) = error as? HubError else { return XCTFail("\(error)") }
        }
    }

    func testAStalledBodyTimesOutAndIsRetried() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        hub.setFault(.silent, for: "vae/diffusion_pytorch_model.safetensors")
        let (result, seconds) = elapsed { Result { try download(try downloader(hub.endpoint, attempts: 2, idleTimeout: 1)) } }
        XCTAssertLessThan(seconds, 10)
        XCTAssertThrowsError(try result.get()) { error in
            guard case .timedOut(_, 1) = error as? HubError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(hub.cdn.requests.filter { hub.filePath(of: $0) == "vae/diffusion_pytorch_model.safetensors" }.count, 2)
    }

    func testServerErrorsAreRetried() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        hub.setFault(.status(503, headers: [:]), for: "unet/config.json")
        XCTAssertThrowsError(try download(try downloader(hub.endpoint, attempts: 2))) { error in
            XCTAssertEqual(error as? HubError, .httpStatus(
                url: "\(hub.endpoint.absoluteString)/\(FakeHub.repository)/resolve/\(FakeHub.commit)/unet/config.json", status: 503))
        }
        XCTAssertEqual(hub.hub.requests.filter { hub.filePath(of: $0) == "unet/config.json" }.count, 2)
    }

    func testInvalidNamesAreRefusedBeforeAnyRequest() {
        for id in ["", "a/b/c", "../etc", "org/-name", "org/na--me", "org/name.", "or g/name"] {
            XCTAssertThrowsError(try HubRepository(id), id)
        }
        for id in ["stable-diffusion-v1-5/stable-diffusion-v1-5", "gpt2", "runwayml/stable-diffusion-v1-5", "a_b/c.d"] {
            XCTAssertNoThrow(try HubRepository(id), id)
        }
        XCTAssertThrowsError(try HubConfiguration(endpoint: URL(string: "ftp://example.org")!))
    }
}
