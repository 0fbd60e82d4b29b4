import Foundation

/// The Hugging Face cache that diffusers and huggingface_hub fill
/// (`~/.cache/huggingface/hub` by default):
///
///     models--{org}--{name}/
///         refs/{revision}                   the commit a branch or tag pointed to
///         snapshots/{commit}/{path}         symlinks into blobs/
///         blobs/{etag}                      the bytes: sha256 for LFS files, git oid for the others
///
/// Files found there are hashed like downloads before they are used.
public struct HubCache: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    /// Where huggingface_hub puts it: `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`,
    /// else `hub` in the Hugging Face home.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> HubCache {
        if let path = environment["HF_HUB_CACHE"] ?? environment["HUGGINGFACE_HUB_CACHE"], !path.isEmpty {
            return HubCache(root: URL(fileURLWithPath: path))
        }
        return HubCache(root: huggingFaceHome(environment).appendingPathComponent("hub"))
    }

    /// `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
    static func huggingFaceHome(_ environment: [String: String]) -> URL {
        if let home = environment["HF_HOME"], !home.isEmpty { return URL(fileURLWithPath: home) }
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return cache.appendingPathComponent("huggingface")
    }

    public func folder(of repository: HubRepository) -> URL {
        root.appendingPathComponent(repository.cacheFolderName)
    }

    /// Cached files that should hold `entry` at `commit`, best first: the blob
    /// named by its hash, then the snapshot's file. Only sizes are checked here.
    func candidates(for entry: RepositoryEntry, in repository: HubRepository, commit: String) -> [URL] {
        let base = folder(of: repository)
        var urls: [URL] = []
        if let hash = entry.digest.expectedHex {
            urls.append(base.appendingPathComponent("blobs").appendingPathComponent(hash))
        }
        urls.append(base.appendingPathComponent("snapshots").appendingPathComponent(commit).appendingPathComponent(entry.path))
        return urls.filter { Self.size(of: $0) == entry.size }
    }

    /// The commit `revision` resolved to when it was cached (a commit id is itself).
    public func commit(of repository: HubRepository, revision: String) -> String? {
        if RepositoryListing.isCommitHash(revision) { return revision.lowercased() }
        let ref = folder(of: repository).appendingPathComponent("refs").appendingPathComponent(revision)
        guard let data = FileManager.default.contents(atPath: ref.path),
              let commit = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              RepositoryListing.isCommitHash(commit) else { return nil }
        return commit
    }

    /// The cached snapshot of `revision` as a listing, for when the Hub cannot
    /// be asked. Files linked to a blob named by a sha256 are checked against
    /// it; the others (configs) only by size.
    public func listing(of repository: HubRepository, revision: String) -> RepositoryListing? {
        guard let commit = commit(of: repository, revision: revision) else { return nil }
        let snapshot = folder(of: repository).appendingPathComponent("snapshots").appendingPathComponent(commit)
        guard let walker = FileManager.default.enumerator(atPath: snapshot.path) else { return nil }
        var entries: [RepositoryEntry] = []
        while let path = walker.nextObject() as? String {
            let url = snapshot.appendingPathComponent(path)
            guard RepositoryEntry.isSafe(path), let size = Self.size(of: url) else { continue }
            let blob = url.resolvingSymlinksInPath().lastPathComponent
            let isSHA256 = blob.count == 64 && blob.allSatisfy(\.isHexDigit)
            entries.append(RepositoryEntry(path: path, size: size, digest: isSHA256 ? .sha256(blob.lowercased()) : .none))
        }
        guard !entries.isEmpty else { return nil }
        return RepositoryListing(repository: repository, commit: commit, entries: entries.sorted { $0.path < $1.path })
    }

    /// The size of a regular file (following symlinks), nil for anything else.
    static func size(of url: URL) -> Int64? {
        var status = stat()
        guard stat(url.path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(status.st_size)
    }
}
