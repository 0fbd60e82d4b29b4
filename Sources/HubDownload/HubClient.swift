import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The Hub's HTTP API, the parts a download needs (as huggingface_hub's
/// `snapshot_download` uses them):
/// - `GET {endpoint}/api/models/{repo}/revision/{revision}` → `{"sha": commit, …}`
/// - `GET {endpoint}/api/models/{repo}/tree/{commit}?recursive=true` → files with
///   size, git oid and LFS sha256; further pages in `Link: <…>; rel="next"`
/// - `GET {endpoint}/{repo}/resolve/{commit}/{path}` → the bytes, usually after
///   a redirect to a CDN; `Range` supported.
/// Errors follow `hf_raise_for_status`: the `X-Error-Code` header
/// (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, `GatedRepo`) or the status.
public struct HubClient: Sendable {
    public let configuration: HubConfiguration
    /// Listing pages followed at most (the Hub returns 1000 files a page).
    static let maxPages = 100
    /// A listing page larger than this is not a listing.
    static let maxJSONBytes = 32 << 20

    public init(configuration: HubConfiguration) {
        self.configuration = configuration
    }

    /// The files of `repository` at `revision` (a branch, tag or commit).
    public func listing(of repository: HubRepository, revision: String) throws(HubError) -> RepositoryListing {
        let revisionURL = apiURL(repository, ["revision", revision])
        let (_, infoData) = try fetchJSON(revisionURL, repository: repository, revision: revision)
        let info: RepositoryListing.RevisionInfo
        do {
            info = try JSONDecoder().decode(RepositoryListing.RevisionInfo.self, from: infoData)
        } catch {
            throw .invalidResponse(url: HubError.display(revisionURL), reason: "no commit id (\"sha\") in the JSON")
        }
        guard RepositoryListing.isCommitHash(info.sha) else {
            throw .invalidResponse(url: HubError.display(revisionURL), reason: "'\(info.sha)' is not a commit id")
        }

        var entries: [RepositoryEntry] = []
        var next: URL? = apiURL(repository, ["tree", info.sha], query: [URLQueryItem(name: "recursive", value: "true")])
        var pages = 0
        while let page = next {
            pages += 1
            guard pages <= Self.maxPages else {
                throw .invalidResponse(url: HubError.display(page), reason: "more than \(Self.maxPages) listing pages")
            }
            let (response, data) = try fetchJSON(page, repository: repository, revision: revision)
            do {
                entries += try RepositoryListing.decodeTree(data)
            } catch {
                throw .invalidResponse(url: HubError.display(page), reason: "not a file listing (\(error))")
            }
            next = response.nextPage
        }
        return RepositoryListing(repository: repository, commit: info.sha, entries: entries)
    }

    /// `{endpoint}/{repo}/resolve/{revision}/{path}`, each part percent-encoded.
    public func fileURL(_ repository: HubRepository, revision: String, path: String) -> URL {
        var url = configuration.endpoint
        for part in repository.id.split(separator: "/") { url.appendPathComponent(String(part)) }
        url.appendPathComponent("resolve")
        // One path segment, '/' included, as huggingface_hub's quote(revision, safe="").
        let encodedRevision = revision.addingPercentEncoding(withAllowedCharacters: .hubSegment) ?? revision
        var text = url.absoluteString + "/" + encodedRevision
        for part in path.split(separator: "/") {
            text += "/" + (String(part).addingPercentEncoding(withAllowedCharacters: .hubSegment) ?? String(part))
        }
        return URL(string: text) ?? url
    }

    /// A GET with the Hub's headers: the token (to the endpoint only; dropped
    /// on redirects elsewhere), identity encoding (sizes and ranges refer to the
    /// stored bytes) and the user agent.
    func request(_ url: URL, range start: Int64 = 0) -> URLRequest {
        var request = URLRequest(url: url)
        request.httpMethod = "GET"
        request.setValue(configuration.userAgent, forHTTPHeaderField: "User-Agent")
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        if let token = configuration.token, Origin(url) == Origin(configuration.endpoint) {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        if start > 0 { request.setValue("bytes=\(start)-", forHTTPHeaderField: "Range") }
        return request
    }

    /// The error for a response that is not a success.
    func error(for response: HTTPResponse, url: URL, repository: HubRepository, revision: String,
               path: String? = nil) -> HubError {
        let code = response.header("x-error-code")
        let message = response.header("x-error-message")
        if code == "RevisionNotFound" { return .revisionNotFound(repository: repository.id, revision: revision) }
        if code == "EntryNotFound" {
            return .fileNotFound(repository: repository.id, revision: revision, path: path ?? HubError.display(url))
        }
        if response.status == 401 || response.status == 403 || code == "GatedRepo" {
            guard configuration.token != nil else { return .authenticationRequired(repository: repository.id) }
            if response.status == 401, message == "Invalid credentials in Authorization header" {
                return .invalidToken(repository: repository.id)
            }
            return .accessDenied(repository: repository.id)
        }
        if response.status == 404 {
            if let path { return .fileNotFound(repository: repository.id, revision: revision, path: path) }
            return .repositoryNotFound(repository: repository.id, endpoint: HubError.display(configuration.endpoint))
        }
        return .httpStatus(url: HubError.display(url), status: response.status)
    }

    func transportError(_ error: URLError, url: URL) -> HubError {
        HubError.transport(error, url: url, endpoint: configuration.endpoint, idleTimeout: configuration.idleTimeout)
    }

    private func fetchJSON(_ url: URL, repository: HubRepository, revision: String) throws(HubError) -> (HTTPResponse, Data) {
        var request = request(url)
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        let response: HTTPResponse
        let data: Data
        do {
            (response, data) = try HTTPTransfer.fetch(request, idleTimeout: configuration.idleTimeout, limit: Self.maxJSONBytes)
        } catch let error as URLError {
            throw transportError(error, url: url)
        } catch {
            throw .invalidResponse(url: HubError.display(url), reason: "\(error)")
        }
        guard response.isSuccess else {
            throw self.error(for: response, url: url, repository: repository, revision: revision)
        }
        return (response, data)
    }

    private func apiURL(_ repository: HubRepository, _ tail: [String], query: [URLQueryItem] = []) -> URL {
        var text = configuration.endpoint.absoluteString + "/api/models/" + repository.id
        for part in tail { text += "/" + (part.addingPercentEncoding(withAllowedCharacters: .hubSegment) ?? part) }
        var components = URLComponents(string: text)!
        if !query.isEmpty { components.queryItems = query }
        return components.url!
    }
}

extension CharacterSet {
    /// Unreserved characters: everything else in a path segment is percent-encoded.
    static let hubSegment = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
}
