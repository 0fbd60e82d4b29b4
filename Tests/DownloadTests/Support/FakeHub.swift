import Crypto
import Foundation
import TestSupport

/// The Hugging Face Hub's download API on loopback, serving one small
/// diffusers repository built from Tests/Fixtures/pipeline:
/// - `GET /api/models/{repo}/revision/{rev}` → `{"id", "sha", "siblings"}`
/// - `GET /api/models/{repo}/tree/{sha}?recursive=true` → files with size,
///   git oid and LFS sha256, paged with `Link: rel="next"` when `pageSize` is set
/// - `GET /{repo}/resolve/{sha}/{path}`: small files directly; LFS files as a
///   302 to a second server (another origin, like the Hub's CDN) at `/blobs/{sha256}`
/// Both honour `Range: bytes=N-` with 206. Faults are set per file path.
final class FakeHub: @unchecked Sendable {
    struct File: Sendable {
        let path: String
        let data: Data
        let isLFS: Bool
        var sha256: String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
        var gitOID: String {
            var hasher = Insecure.SHA1()
            hasher.update(data: Data("blob \(data.count)\0".utf8))
            hasher.update(data: data)
            return hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
    }

    enum Fault: Sendable {
        /// Close the connection after this many body bytes, the next `times` requests.
        case cut(after: Int, times: Int)
        /// Flip one byte in the middle of the body.
        case corrupt
        /// Answer with this status (and headers) instead of the file.
        case status(Int, headers: [String: String])
        /// Answer 200 with the whole file even to a Range request.
        case ignoreRange
        /// Accept and never answer.
        case silent
    }

    static let repository = "test-org/tiny-sd"
    static let commit = "0123456789abcdef0123456789abcdef01234567"

    /// The files the downloader should choose, and the fixture each one's bytes come from.
    static let expectedSelection: [String: String] = [
        "model_index.json": "model_index.json",
        "scheduler/scheduler_config.json": "scheduler/scheduler_config.json",
        "text_encoder/config.json": "text_encoder/config.json",
        "text_encoder/model.fp16.safetensors": "text_encoder/model.safetensors",
        "tokenizer/merges.txt": "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json": "tokenizer/special_tokens_map.json",
        "tokenizer/tokenizer_config.json": "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json": "tokenizer/vocab.json",
        "unet/config.json": "unet/config.json",
        "unet/diffusion_pytorch_model.fp16.safetensors": "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json": "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors": "vae/diffusion_pytorch_model.safetensors",
    ]

    let files: [String: File]
    private(set) var hub: LoopbackHTTPServer!
    private(set) var cdn: LoopbackHTTPServer!
    private let lock = NSLock()
    private var faults: [String: Fault] = [:]
    /// When set, every request to the Hub needs `Authorization: Bearer <token>`.
    let requiredToken: String?
    /// Tree entries per listing page (nil: one page).
    let pageSize: Int?

    init(requiredToken: String? = nil, pageSize: Int? = nil) throws {
        self.requiredToken = requiredToken
        self.pageSize = pageSize
        files = try Self.makeFiles()
        cdn = try LoopbackHTTPServer { [unowned self] request in cdnReply(request) }
        hub = try LoopbackHTTPServer { [unowned self] request in hubReply(request) }
    }

    deinit { stop() }

    func stop() {
        hub?.stop()
        cdn?.stop()
    }

    var endpoint: URL { hub.baseURL }

    func setFault(_ fault: Fault?, for path: String) {
        lock.withLock { faults[path] = fault }
    }

    /// Every request either server saw, Hub first.
    var requests: [LoopbackHTTPServer.Request] { hub.requests + cdn.requests }

    /// Requests that fetched (part of) a file: resolve URLs on the Hub, blobs on the CDN.
    var fileRequests: [LoopbackHTTPServer.Request] {
        hub.requests.filter { $0.path.contains("/resolve/") } + cdn.requests
    }

    /// The file path a request fetched.
    func filePath(of request: LoopbackHTTPServer.Request) -> String? {
        if let range = request.path.range(of: "/resolve/\(Self.commit)/") {
            return String(request.path[range.upperBound...]).removingPercentEncoding
        }
        if request.path.hasPrefix("/blobs/") {
            let hash = String(request.path.dropFirst("/blobs/".count))
            return files.values.first { $0.isLFS && $0.sha256 == hash }?.path
        }
        return nil
    }

    // MARK: Routes

    private func hubReply(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Reply {
        if let requiredToken, request.headers["authorization"] != "Bearer \(requiredToken)" {
            let invalid = request.headers["authorization"] != nil
            return .status(401, headers: ["X-Error-Code": invalid ? "" : "GatedRepo",
                                          "X-Error-Message": invalid ? "Invalid credentials in Authorization header"
                                                                     : "Access to model \(Self.repository) is restricted."])
        }
        let api = "/api/models/\(Self.repository)/"
        if request.path.hasPrefix("/api/models/"), !request.path.hasPrefix(api) {
            return .status(404, headers: ["X-Error-Code": "RepoNotFound"], body: "{\"error\":\"Repository not found\"}")
        }
        if request.path.hasPrefix(api + "revision/") {
            let revision = String(request.path.dropFirst((api + "revision/").count))
            guard revision == "main" || revision == Self.commit else {
                return .status(404, headers: ["X-Error-Code": "RevisionNotFound"])
            }
            let siblings = files.keys.sorted().map { ["rfilename": $0] }
            return json(["id": Self.repository, "sha": Self.commit, "siblings": siblings])
        }
        if request.path == api + "tree/\(Self.commit)" {
            guard request.query?.contains("recursive=true") == true else { return .status(400) }
            return treePage(request)
        }
        let resolve = "/\(Self.repository)/resolve/\(Self.commit)/"
        if request.path.hasPrefix(resolve),
           let path = String(request.path.dropFirst(resolve.count)).removingPercentEncoding {
            guard let file = files[path] else { return .status(404, headers: ["X-Error-Code": "EntryNotFound"]) }
            let linked = ["X-Repo-Commit": Self.commit, "X-Linked-Size": "\(file.data.count)"]
            if file.isLFS {
                // Like the Hub: a redirect to signed CDN storage, on another origin.
                return .status(302, headers: linked.merging([
                    "Location": "\(cdn.baseURL.absoluteString)/blobs/\(file.sha256)?X-Amz-Signature=test",
                    "X-Linked-Etag": "\"\(file.sha256)\"",
                ]) { $1 })
            }
            return serve(file, request, headers: linked.merging(["ETag": "\"\(file.gitOID)\""]) { $1 })
        }
        return .status(404)
    }

    private func cdnReply(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Reply {
        let hash = String(request.path.dropFirst("/blobs/".count))
        guard request.path.hasPrefix("/blobs/"), let file = files.values.first(where: { $0.isLFS && $0.sha256 == hash })
        else { return .status(404) }
        return serve(file, request, headers: ["ETag": "\"\(hash)\""])
    }

    private func serve(_ file: File, _ request: LoopbackHTTPServer.Request, headers: [String: String]) -> LoopbackHTTPServer.Reply {
        var data = file.data
        var fault = lock.withLock { faults[file.path] }
        if case .cut(let after, let times) = fault {
            lock.withLock { faults[file.path] = times > 1 ? .cut(after: after, times: times - 1) : nil }
        }
        switch fault {
        case .status(let status, let extra):
            return .status(status, headers: extra)
        case .silent:
            return .silent
        case .corrupt:
            data[data.count / 2] ^= 0xFF
            fault = nil
        default:
            break
        }
        var headers = headers.merging(["Accept-Ranges": "bytes"]) { $1 }
        var status = 200
        if let range = request.headers["range"], range.hasPrefix("bytes="), range.hasSuffix("-"),
           let start = Int(range.dropFirst("bytes=".count).dropLast()) {
            if case .ignoreRange = fault {
                // The whole file, as a server that does not do ranges.
            } else if start >= data.count {
                return .status(416, headers: ["Content-Range": "bytes */\(data.count)"])
            } else {
                headers["Content-Range"] = "bytes \(start)-\(data.count - 1)/\(data.count)"
                data = data.subdata(in: start..<data.count)
                status = 206
            }
        }
        var cut: Int?
        if case .cut(let after, _) = fault { cut = after }
        return .response(status: status, headers: headers, body: data, cutAfter: cut)
    }

    private func treePage(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Reply {
        var entries: [[String: Any]] = []
        var folders = Set<String>()
        for file in files.values.sorted(by: { $0.path < $1.path }) {
            var folder = ""
            for part in file.path.split(separator: "/").dropLast() {
                folder += folder.isEmpty ? String(part) : "/" + part
                if folders.insert(folder).inserted {
                    entries.append(["type": "directory", "oid": String(repeating: "d", count: 40), "size": 0, "path": folder])
                }
            }
            var entry: [String: Any] = ["type": "file", "path": file.path, "size": file.data.count, "oid": file.gitOID]
            if file.isLFS {
                // As on the Hub: `size` and `oid` are the pointer's; `lfs` describes the real file.
                entry["oid"] = String(repeating: "e", count: 40)
                entry["size"] = 134
                entry["lfs"] = ["oid": file.sha256, "size": file.data.count, "pointerSize": 134]
            }
            entries.append(entry)
        }
        guard let pageSize else { return json(entries) }
        let cursor = request.query?.split(separator: "&").first { $0.hasPrefix("cursor=") }
            .flatMap { Int($0.dropFirst("cursor=".count)) } ?? 0
        let end = min(entries.count, cursor + pageSize)
        var headers: [String: String] = [:]
        if end < entries.count {
            headers["Link"] = "<\(endpoint.absoluteString)\(request.path)?recursive=true&cursor=\(end)>; rel=\"next\""
        }
        return json(Array(entries[cursor..<end]), headers: headers)
    }

    private func json(_ value: Any, headers: [String: String] = [:]) -> LoopbackHTTPServer.Reply {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data()
        return .response(status: 200, headers: headers.merging(["Content-Type": "application/json"]) { $1 },
                         body: data, cutAfter: nil)
    }

    // MARK: The repository

    /// The fixture's diffusers folder, with its unet and text_encoder weights
    /// renamed to the fp16 variant (vae has only the plain file), plus what a
    /// real SD 1.5 repository also holds and the downloader must skip: f32
    /// files beside fp16 ones, pickles, non-EMA weights, single-file
    /// checkpoints, the safety checker.
    private static func makeFiles() throws -> [String: File] {
        let root = FixturePaths.url("pipeline")
        var files: [String: File] = [:]
        func add(_ path: String, _ data: Data) {
            files[path] = File(path: path, data: data, isLFS: path.hasSuffix(".safetensors") || path.hasSuffix(".bin")
                                || path.hasSuffix(".ckpt"))
        }
        for (path, source) in expectedSelection {
            add(path, try Data(contentsOf: root.appendingPathComponent(source)))
        }
        // The f32 files are there too, but must not be chosen over fp16 (their
        // bytes differ from the fp16 copies, so every blob names one file).
        for junk in ["unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                     "unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.non_ema.safetensors",
                     "vae/diffusion_pytorch_model.bin", "text_encoder/pytorch_model.fp16.bin",
                     "safety_checker/model.fp16.safetensors", "safety_checker/config.json",
                     "feature_extractor/preprocessor_config.json", "v1-5-pruned-emaonly.safetensors",
                     "v1-5-pruned.ckpt", "v1-inference.yaml", "README.md", ".gitattributes"] {
            add(junk, Data("not for sdgen: \(junk)\n".utf8))
        }
        return files
    }
}
