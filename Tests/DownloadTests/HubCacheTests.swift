import Foundation
import HubDownload
import XCTest

/// A model diffusers already downloaded (~/.cache/huggingface/hub) is reused, not fetched again.
final class HubCacheTests: DownloadTestCase {
    /// Lays out the fake Hub's files as huggingface_hub does: blobs named by
    /// etag (sha256 for LFS, git oid otherwise), snapshot symlinks, refs/main.
    func makeCache(_ hub: FakeHub, paths: [String]) throws -> HubCache {
        let cache = HubCache(root: folder.appendingPathComponent("hf-cache/hub"))
        let base = cache.folder(of: repository)
        let manager = FileManager.default
        try manager.createDirectory(at: base.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try manager.createDirectory(at: base.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try Data(FakeHub.commit.utf8).write(to: base.appendingPathComponent("refs/main"))
        let snapshot = base.appendingPathComponent("snapshots/\(FakeHub.commit)")
        for path in paths {
            let file = hub.files[path]!
            let etag = file.isLFS ? file.sha256 : file.gitOID
            try file.data.write(to: base.appendingPathComponent("blobs/\(etag)"))
            let link = snapshot.appendingPathComponent(path)
            try manager.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
            let depth = path.split(separator: "/").count + 1
            let target = String(repeating: "../", count: depth) + "blobs/\(etag)"
            try manager.createSymbolicLink(atPath: link.path, withDestinationPath: target)
        }
        return cache
    }

    func testCachedFilesAreUsedInsteadOfDownloaded() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        let cached = ["unet/diffusion_pytorch_model.fp16.safetensors", "text_encoder/model.fp16.safetensors",
                      "tokenizer/vocab.json", "unet/config.json"]
        let cache = try makeCache(hub, paths: cached)

        let (summary, events) = try download(try downloader(hub.endpoint, cache: cache))
        try assertDownloadedFolderMatchesFixtures()
        XCTAssertEqual(Set(summary.fromCache), Set(cached))
        let fetched = Set(hub.fileRequests.compactMap(hub.filePath(of:)))
        XCTAssertEqual(fetched, Set(FakeHub.expectedSelection.keys).subtracting(cached), "cached files were not fetched")
        XCTAssertTrue(events.contains(.fileStarted(path: "tokenizer/vocab.json", size: Int64(hub.files["tokenizer/vocab.json"]!.data.count),
                                                   source: .cache)))

        // Same file system: a hard link to the cache's blob, no second copy of the weights.
        let unet = hub.files["unet/diffusion_pytorch_model.fp16.safetensors"]!
        let blob = cache.folder(of: repository).appendingPathComponent("blobs/\(unet.sha256)")
        let linked = try FileManager.default.attributesOfItem(atPath: weights.appendingPathComponent(unet.path).path)
        let original = try FileManager.default.attributesOfItem(atPath: blob.path)
        XCTAssertEqual(linked[.systemFileNumber] as? Int, original[.systemFileNumber] as? Int)
    }

    func testADamagedCacheBlobIsDownloadedInsteadAndLeftUntouched() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        let vae = "vae/diffusion_pytorch_model.safetensors"
        let cache = try makeCache(hub, paths: [vae])
        let blob = cache.folder(of: repository).appendingPathComponent("blobs/\(hub.files[vae]!.sha256)")
        var damaged = hub.files[vae]!.data
        damaged[10] ^= 0xFF
        try damaged.write(to: blob)

        let (summary, _) = try download(try downloader(hub.endpoint, cache: cache))
        try assertDownloadedFolderMatchesFixtures()
        XCTAssertEqual(summary.fromCache, [])
        XCTAssertEqual(try Data(contentsOf: blob), damaged, "the cache is read, never written")
    }

    func testAnUnreachableHubFallsBackToTheCachedSnapshot() throws {
        let hub = try FakeHub()
        let cache = try makeCache(hub, paths: Array(FakeHub.expectedSelection.keys) + ["unet/diffusion_pytorch_model.safetensors"])
        hub.stop()
        let endpoint = URL(string: "http://127.0.0.1:\(try LoopbackHTTPServer.closedPort())")!

        let (summary, events) = try download(try downloader(endpoint, cache: cache))
        XCTAssertTrue(summary.offline)
        XCTAssertEqual(summary.commit, FakeHub.commit)
        XCTAssertEqual(Set(summary.fromCache), Set(FakeHub.expectedSelection.keys), "fp16 chosen from the snapshot too")
        try assertDownloadedFolderMatchesFixtures()
        XCTAssertTrue(events.contains { if case .offline = $0 { true } else { false } })
    }

    func testOfflineModeWithoutACachedSnapshotSaysSo() throws {
        let cache = HubCache(root: folder.appendingPathComponent("empty-cache"))
        XCTAssertThrowsError(try download(try downloader(URL(string: "http://127.0.0.1:9")!, cache: cache, offline: true))) { error in
            guard case .offlineWithoutCache(FakeHub.repository, "main", _) = error as? HubError else { return XCTFail("\(error)") }
        }
    }

    func testTheCacheLocationFollowsHuggingFaceHub() {
        XCTAssertEqual(HubCache.fromEnvironment(["HF_HUB_CACHE": "/x/hub"]).root.path, "/x/hub")
        XCTAssertEqual(HubCache.fromEnvironment(["HF_HOME": "/h"]).root.path, "/h/hub")
        XCTAssertEqual(HubCache.fromEnvironment(["XDG_CACHE_HOME": "/c"]).root.path, "/c/huggingface/hub")
        XCTAssertTrue(HubCache.fromEnvironment([:]).root.path.hasSuffix("/.cache/huggingface/hub"))
        XCTAssertEqual(HubCache(root: URL(fileURLWithPath: "/c")).folder(of: .stableDiffusion15).lastPathComponent,
                       "models--stable-diffusion-v1-5--stable-diffusion-v1-5")
    }
}
