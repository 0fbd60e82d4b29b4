import Foundation

/// Fetches what the pipeline needs from a diffusers repository into a folder
/// (`weights/<name>/`): lists the repository at one commit, selects the files
/// (`FileSelection`), and for each takes, in order, what the folder already
/// holds, a copy from the Hugging Face cache, or a resumable download — every
/// one verified against the listing's size and hash before it gets its name.
/// When the Hub cannot be reached (or `offline`), a cached snapshot of the
/// revision is used if there is one.
public struct ModelDownloader: Sendable {
    public var client: HubClient
    /// nil: do not look in the Hugging Face cache.
    public var cache: HubCache?
    /// Use the cache only (huggingface_hub's `HF_HUB_OFFLINE`).
    public var offline: Bool
    public var precision: FileSelection.Precision

    public init(client: HubClient, cache: HubCache? = nil, offline: Bool = false,
                precision: FileSelection.Precision = .fp16) {
        self.client = client
        self.cache = cache
        self.offline = offline
        self.precision = precision
    }

    public struct Summary: Sendable, Equatable {
        public let commit: String
        public let folder: URL
        public let files: [RepositoryEntry]
        public var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }
        /// Bytes that came over the network in this run.
        public var downloadedBytes: Int64 = 0
        public var fromCache: [String] = []
        public var alreadyPresent: [String] = []
        /// The listing came from the cache, not the Hub.
        public var offline = false
    }

    public func download(_ repository: HubRepository, revision: String, into folder: URL,
                         events: @escaping @Sendable (DownloadEvent) -> Void = { _ in }) throws(HubError) -> Summary {
        let (listing, isOffline) = try listing(of: repository, revision: revision, events: events)
        let files = try FileSelection.select(listing.entries, repository: repository, precision: precision)
        events(.planned(commit: listing.commit, files: files, fromCache: isOffline))
        try PartialFile.createDirectory(folder)
        let lock = try FolderLock(folder)
        defer { lock.release() }

        var summary = Summary(commit: listing.commit, folder: folder, files: files)
        summary.offline = isOffline
        for entry in files {
            let destination = folder.appendingPathComponent(entry.path)
            if PartialFile.matches(destination, entry) {
                events(.fileStarted(path: entry.path, size: entry.size, source: .present))
                events(.fileFinished(path: entry.path, size: entry.size))
                summary.alreadyPresent.append(entry.path)
            } else if try copyFromCache(entry, repository: repository, commit: listing.commit, to: destination, events: events) {
                summary.fromCache.append(entry.path)
            } else if isOffline {
                throw .offlineWithoutCache(repository: repository.id, revision: revision,
                                           cache: cache?.root.path ?? "the Hugging Face cache")
            } else {
                let resumedFrom = try ResumableDownload(client: client, repository: repository, commit: listing.commit,
                                                        entry: entry, destination: destination).run(events: events)
                summary.downloadedBytes += entry.size - resumedFrom
            }
        }
        return summary
    }

    /// The Hub's listing; the cached snapshot's when offline or unreachable.
    private func listing(of repository: HubRepository, revision: String,
                         events: @Sendable (DownloadEvent) -> Void) throws(HubError) -> (RepositoryListing, Bool) {
        let cached = { cache?.listing(of: repository, revision: revision) }
        if offline {
            guard let listing = cached() else {
                throw .offlineWithoutCache(repository: repository.id, revision: revision,
                                           cache: cache?.root.path ?? "the Hugging Face cache")
            }
            events(.offline(reason: "HF_HUB_OFFLINE is set", snapshot: snapshotPath(repository, listing.commit)))
            return (listing, true)
        }
        do {
            return (try client.listing(of: repository, revision: revision), false)
        } catch where error.isConnectivity {
            guard let listing = cached() else { throw error }
            events(.offline(reason: error.description, snapshot: snapshotPath(repository, listing.commit)))
            return (listing, true)
        }
    }

    /// Takes the file from the Hugging Face cache if a copy there verifies.
    private func copyFromCache(_ entry: RepositoryEntry, repository: HubRepository, commit: String, to destination: URL,
                               events: @Sendable (DownloadEvent) -> Void) throws(HubError) -> Bool {
        guard let cache else { return false }
        for candidate in cache.candidates(for: entry, in: repository, commit: commit) {
            let part = try PartialFile(destination: destination, entry: entry, resume: false)
            try part.fill(from: candidate)
            do {
                try part.complete()
            } catch .checksumMismatch, .sizeMismatch {
                continue   // a damaged cache entry: try the next, or download
            }
            events(.fileStarted(path: entry.path, size: entry.size, source: .cache))
            events(.fileFinished(path: entry.path, size: entry.size))
            return true
        }
        return false
    }

    private func snapshotPath(_ repository: HubRepository, _ commit: String) -> String {
        guard let cache else { return commit }
        return cache.folder(of: repository).appendingPathComponent("snapshots").appendingPathComponent(commit).path
    }
}
