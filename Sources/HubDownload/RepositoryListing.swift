import Foundation

/// One file of a repository, as the Hub lists it.
public struct RepositoryEntry: Sendable, Equatable, CustomStringConvertible {
    /// Relative to the repository root, `/`-separated.
    public let path: String
    public let size: Int64
    /// What the bytes must hash to.
    public let digest: ContentDigest

    public init(path: String, size: Int64, digest: ContentDigest) {
        self.path = path
        self.size = size
        self.digest = digest
    }

    public var description: String { path }

    /// A relative path with no `..`, `.` or empty parts: safe to join under a folder.
    static func isSafe(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/") else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\0")
        }
    }
}

/// The files of one commit of a repository.
public struct RepositoryListing: Sendable {
    public let repository: HubRepository
    /// The commit the revision resolved to; files are fetched at this commit, so
    /// all of them come from one consistent snapshot.
    public let commit: String
    public let entries: [RepositoryEntry]

    public init(repository: HubRepository, commit: String, entries: [RepositoryEntry]) {
        self.repository = repository
        self.commit = commit
        self.entries = entries
    }

    /// `GET /api/models/{repo}/revision/{revision}`: the commit (`sha`).
    struct RevisionInfo: Decodable {
        let sha: String
    }

    /// One element of `GET /api/models/{repo}/tree/{commit}?recursive=true`:
    /// `{"type": "file", "path", "size", "oid" (git blob sha1), "lfs": {"oid" (sha256), "size", "pointerSize"}}`.
    struct TreeEntry: Decodable {
        struct LFS: Decodable {
            let oid: String
            let size: Int64
        }

        let type: String
        let path: String
        let size: Int64?
        let oid: String?
        let lfs: LFS?

        /// Files only; LFS files are checked by sha256, others by their git blob id.
        var entry: RepositoryEntry? {
            guard type == "file", RepositoryEntry.isSafe(path) else { return nil }
            if let lfs {
                return RepositoryEntry(path: path, size: lfs.size, digest: .sha256(lfs.oid.lowercased()))
            }
            guard let size else { return nil }
            return RepositoryEntry(path: path, size: size, digest: oid.map { .gitBlobSHA1($0.lowercased()) } ?? .none)
        }
    }

    /// The files of one page of the tree listing; folders, and paths that
    /// would leave the download folder, are left out.
    public static func decodeTree(_ data: Data) throws -> [RepositoryEntry] {
        try JSONDecoder().decode([TreeEntry].self, from: data).compactMap(\.entry)
    }

    static func isCommitHash(_ text: String) -> Bool {
        text.count == 40 && text.allSatisfy(\.isHexDigit)
    }
}
