import Foundation

/// Why a download failed, each in one line that says what to do.
public enum HubError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidRepository(String)
    case invalidEndpoint(String)
    /// Connection refused, no such host, no network.
    case unreachable(endpoint: String, reason: String)
    case timedOut(url: String, seconds: Int)
    /// The connection broke during a transfer (retried before this is thrown).
    case connectionLost(url: String, reason: String)
    /// 401 without a token: gated, private or missing.
    case authenticationRequired(repository: String)
    /// 401 with a token: the token itself was refused.
    case invalidToken(repository: String)
    /// 403: the token's account has no access (a gated model's terms not accepted).
    case accessDenied(repository: String)
    case repositoryNotFound(repository: String, endpoint: String)
    case revisionNotFound(repository: String, revision: String)
    case fileNotFound(repository: String, revision: String, path: String)
    case httpStatus(url: String, status: Int)
    case invalidResponse(url: String, reason: String)
    case notDiffusersRepository(repository: String, reason: String)
    case checksumMismatch(path: String, expected: String, actual: String)
    case sizeMismatch(path: String, expected: Int64, actual: Int64)
    case fileSystem(path: String, operation: String, reason: String)
    /// Another download is writing into the same folder.
    case folderBusy(path: String)
    /// Offline (`HF_HUB_OFFLINE`) and nothing in the cache.
    case offlineWithoutCache(repository: String, revision: String, cache: String)

    public var description: String {
        switch self {
        case .invalidRepository(let id):
            "'\(id)' is not a Hub repository id (expected org/name, e.g. \(HubRepository.stableDiffusion15.id))"
        case .invalidEndpoint(let text):
            "--endpoint/HF_ENDPOINT '\(text)' is not an http(s) URL"
        case .unreachable(let endpoint, let reason):
            "cannot reach \(endpoint) (\(reason)): check the network, or set HF_ENDPOINT to a reachable mirror"
        case .timedOut(let url, let seconds):
            "no answer from \(url) within \(seconds) s: the network or the server is stalled; run the same command again to resume"
        case .connectionLost(let url, let reason):
            "the connection to \(url) broke (\(reason)) and retries did not help; run the same command again to resume"
        case .authenticationRequired(let repository):
            "\(repository) needs a Hugging Face login (gated or private, or it does not exist): accept its terms on the Hub and set HF_TOKEN to a read token (https://huggingface.co/settings/tokens)"
        case .invalidToken(let repository):
            "the Hub refused the token in HF_TOKEN for \(repository): set HF_TOKEN to a valid read token (https://huggingface.co/settings/tokens)"
        case .accessDenied(let repository):
            "the account of HF_TOKEN has no access to \(repository): accept the model's terms on its Hub page with that account (or check the name)"
        case .repositoryNotFound(let repository, let endpoint):
            "no repository \(repository) on \(endpoint): check the name (private repositories also need HF_TOKEN)"
        case .revisionNotFound(let repository, let revision):
            "\(repository) has no revision '\(revision)' (a branch, tag or commit)"
        case .fileNotFound(let repository, let revision, let path):
            "\(path) is missing from \(repository) at revision \(revision) (404), though the listing names it"
        case .httpStatus(let url, let status):
            "\(url) answered HTTP \(status)"
        case .invalidResponse(let url, let reason):
            "unexpected answer from \(url): \(reason)"
        case .notDiffusersRepository(let repository, let reason):
            "\(repository) is not a Stable Diffusion diffusers repository sdgen can use: \(reason)"
        case .checksumMismatch(let path, let expected, let actual):
            "\(path): downloaded bytes do not match the Hub's checksum (expected \(expected), got \(actual)); the file was discarded, run the command again"
        case .sizeMismatch(let path, let expected, let actual):
            "\(path): received \(actual) bytes where the Hub lists \(expected); the file was discarded, run the command again"
        case .fileSystem(let path, let operation, let reason):
            "cannot \(operation) \(path): \(reason)"
        case .folderBusy(let path):
            "another sdgen download is writing into \(path); wait for it to finish"
        case .offlineWithoutCache(let repository, let revision, let cache):
            "HF_HUB_OFFLINE is set and \(cache) holds no snapshot of \(repository) at '\(revision)'"
        }
    }

    /// Failures that another try may not repeat: the connection, not the request.
    var isTransient: Bool {
        switch self {
        case .timedOut, .connectionLost, .unreachable: true
        case .httpStatus(_, let status): status == 408 || status == 429 || status >= 500
        default: false
        }
    }

    /// The Hub could not be reached at all (a cached copy may stand in).
    var isConnectivity: Bool {
        switch self {
        case .unreachable, .timedOut: true
        default: false
        }
    }

    static func fileSystem(_ path: String, _ operation: String, errno code: Int32) -> HubError {
        .fileSystem(path: path, operation: operation, reason: String(cString: strerror(code)))
    }

    /// A URLSession failure in words.
    static func transport(_ error: URLError, url: URL?, endpoint: URL, idleTimeout: TimeInterval) -> HubError {
        let where_ = url.map(Self.display) ?? Self.display(endpoint)
        switch error.code {
        case .timedOut:
            return .timedOut(url: where_, seconds: Int(max(1, idleTimeout.rounded(.up))))
        case .cannotConnectToHost:
            return .unreachable(endpoint: Self.display(endpoint), reason: "connection refused")
        case .cannotFindHost, .dnsLookupFailed:
            return .unreachable(endpoint: Self.display(endpoint), reason: "host not found")
        case .notConnectedToInternet:
            return .unreachable(endpoint: Self.display(endpoint), reason: "no network")
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateHasUnknownRoot, .serverCertificateNotYetValid, .clientCertificateRejected:
            return .unreachable(endpoint: Self.display(endpoint), reason: "TLS failed: \(error.localizedDescription)")
        default:
            return .connectionLost(url: where_, reason: error.localizedDescription)
        }
    }

    /// A URL without its query (signed CDN URLs are long and secret).
    static func display(_ url: URL) -> String {
        var components = URLComponents(url: url, resolvingAgainstBaseURL: true)
        components?.query = nil
        components?.fragment = nil
        return components?.string ?? url.absoluteString
    }
}
