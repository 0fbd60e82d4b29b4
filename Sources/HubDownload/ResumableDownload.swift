import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One file from the Hub into `<destination>.part`, then verified and renamed.
///
/// A part left by an earlier run, or by a try whose connection broke, is
/// continued with `Range: bytes=<length>-`; a server that answers the whole
/// file instead (200) or a range that is not satisfiable (416) starts the
/// part over. Broken connections, timeouts and 408/429/5xx are retried with
/// doubling delays, `attempts` times in a row at most (a try that brought
/// bytes resets the count); anything else (401, 404, a wrong checksum) fails at once.
struct ResumableDownload {
    let client: HubClient
    let repository: HubRepository
    /// The commit the files are fetched at.
    let commit: String
    let entry: RepositoryEntry
    let destination: URL
    var sleep: @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }

    /// Fetches the file; returns how many bytes an earlier run had left in the part.
    @discardableResult
    func run(events: @escaping @Sendable (DownloadEvent) -> Void) throws(HubError) -> Int64 {
        let part = try PartialFile(destination: destination, entry: entry)
        let resumedFrom = part.length
        events(.fileStarted(path: entry.path, size: entry.size, source: resumedFrom > 0 ? .resumed(from: resumedFrom) : .hub))
        do {
            try fetch(into: part, events: events)
        } catch {
            // A part worth resuming stays; an empty one goes.
            if part.length == 0 { part.discard() }
            throw error
        }
        try part.complete()
        events(.fileFinished(path: entry.path, size: entry.size))
        return resumedFrom
    }

    private func fetch(into part: PartialFile, events: @escaping @Sendable (DownloadEvent) -> Void) throws(HubError) {
        var failures = 0
        while part.length < entry.size {
            let before = part.length
            do {
                try attempt(part, events: events)
            } catch where error.isTransient {
                if part.length > before { failures = 0 }
                failures += 1
                guard failures < client.configuration.attempts else { throw error }
                let delay = client.configuration.retryDelay * Double(1 << min(failures - 1, 6))
                events(.retrying(path: entry.path, resumeAt: part.length, delay: delay, reason: error.description))
                sleep(delay)
            }
        }
    }

    /// One request from the part's current length; returns normally when the
    /// response ended (complete or not: the caller checks the length).
    private func attempt(_ part: PartialFile, events: @escaping @Sendable (DownloadEvent) -> Void) throws(HubError) {
        let url = client.fileURL(repository, revision: commit, path: entry.path)
        let start = part.length
        let path = entry.path
        let response: HTTPResponse
        do {
            response = try HTTPTransfer.perform(
                client.request(url, range: start), idleTimeout: client.configuration.idleTimeout,
                onResponse: { response in
                    switch response.status {
                    case 206 where response.contentRangeStart == start:
                        return true
                    case 206:
                        try part.restart()
                        throw HubError.connectionLost(url: HubError.display(url), reason: "the server sent another range than asked")
                    case 200:
                        if start > 0 { try part.restart() }   // the Range was ignored: the whole file follows
                        return true
                    default:
                        return false
                    }
                },
                onBody: { data in
                    try part.append(data)
                    events(.received(path: path, bytes: Int64(data.count)))
                })
        } catch let error as HubError {
            throw error
        } catch let error as URLError {
            throw client.transportError(error, url: url)
        } catch {
            throw .connectionLost(url: HubError.display(url), reason: "\(error)")
        }

        if response.status == 416 {
            // The part is not a prefix of the file (it changed, or the part is damaged).
            try part.restart()
            throw .connectionLost(url: HubError.display(url), reason: "the server refused to resume at byte \(start)")
        }
        guard response.isSuccess else {
            throw client.error(for: response, url: url, repository: repository, revision: commit, path: entry.path)
        }
        if part.length < entry.size {
            throw .connectionLost(url: HubError.display(url),
                                  reason: "the server closed the connection after \(part.length) of \(entry.size) bytes")
        }
    }
}
