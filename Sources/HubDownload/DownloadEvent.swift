import Foundation

/// What a download reports while it runs (from the downloading thread, or
/// from URLSession's delegate queue for `received`).
public enum DownloadEvent: Sendable, Equatable {
    /// The files to fetch are known.
    case planned(commit: String, files: [RepositoryEntry], fromCache: Bool)
    case fileStarted(path: String, size: Int64, source: FileSource)
    /// Bytes of the current file arrived over the network.
    case received(path: String, bytes: Int64)
    case retrying(path: String, resumeAt: Int64, delay: TimeInterval, reason: String)
    case fileFinished(path: String, size: Int64)
    /// The Hub could not be reached; the cached snapshot stands in.
    case offline(reason: String, snapshot: String)
}

/// Where a file's bytes come from.
public enum FileSource: Sendable, Equatable {
    case hub
    /// The Hub, continuing a part an earlier run left.
    case resumed(from: Int64)
    /// The Hugging Face cache (hard-linked or copied).
    case cache
    /// The destination already held the right bytes.
    case present
}
