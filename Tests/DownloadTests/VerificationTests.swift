import Crypto
import Foundation
import HubDownload
import TestSupport
import XCTest

/// Bytes that do not hash to what the listing says never get the file's name.
final class VerificationTests: DownloadTestCase {
    func testWrongBytesInAWeightsFileAreRejectedAndNotRenamedIntoPlace() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        let vae = "vae/diffusion_pytorch_model.safetensors"
        hub.setFault(.corrupt, for: vae)

        XCTAssertThrowsError(try download(try downloader(hub.endpoint))) { error in
            guard case .checksumMismatch(vae, hub.files[vae]!.sha256, _) = error as? HubError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue("\(error)".hasPrefix("\(vae): downloaded bytes do not match the Hub's checksum"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: weights.appendingPathComponent(vae).path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: weights.appendingPathComponent(vae + ".part").path),
                       "a part that cannot be right is not kept for resuming")

        // The next run, with honest bytes, completes.
        hub.setFault(nil, for: vae)
        _ = try download(try downloader(hub.endpoint))
        try assertDownloadedFolderMatchesFixtures()
    }

    func testWrongBytesInASmallFileFailItsGitBlobHash() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        hub.setFault(.corrupt, for: "tokenizer/vocab.json")
        XCTAssertThrowsError(try download(try downloader(hub.endpoint))) { error in
            guard case .checksumMismatch("tokenizer/vocab.json", hub.files["tokenizer/vocab.json"]!.gitOID, _) = error as? HubError
            else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: weights.appendingPathComponent("tokenizer/vocab.json").path))
    }

    func testDigestsMatchGitAndSha256sum() throws {
        // `git hash-object` and `sha256sum` of the committed fixtures.
        let root = FixturePaths.url("pipeline")
        let index = try Data(contentsOf: root.appendingPathComponent("model_index.json"))
        var git = StreamingHasher(for: .gitBlobSHA1(""), size: Int64(index.count))
        git.update(index)
        XCTAssertEqual(git.finalize(), "f85f25f83f13168a71f323b460f57119027be91d")

        let vae = try Data(contentsOf: root.appendingPathComponent("vae/diffusion_pytorch_model.safetensors"))
        var sha = StreamingHasher(for: .sha256(""), size: Int64(vae.count))
        // In uneven chunks, as the network delivers them.
        var offset = 0
        for chunk in [1, 4095, 65536, 3] + Array(repeating: 100_000, count: 20) where offset < vae.count {
            sha.update(vae.subdata(in: offset..<min(vae.count, offset + chunk)))
            offset += chunk
        }
        XCTAssertEqual(sha.byteCount, Int64(vae.count))
        XCTAssertEqual(sha.finalize(), "9841e4d54bc041c053cedccb90be5177626422d8a39b01565269762eb8caa457")
    }

    func testAPartLongerThanTheFileIsDiscarded() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        let config = "unet/config.json"
        let part = weights.appendingPathComponent(config + ".part")
        try FileManager.default.createDirectory(at: part.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: hub.files[config]!.data.count + 10).write(to: part)
        _ = try download(try downloader(hub.endpoint))
        try assertDownloadedFolderMatchesFixtures()
        XCTAssertNil(hub.hub.requests.first { hub.filePath(of: $0) == config }?.headers["range"])
    }
}
