import Foundation

/// Where the Hub is, who is asking, and how long to wait.
public struct HubConfiguration: Sendable {
    public static let defaultEndpoint = URL(string: "https://huggingface.co")!

    /// The Hub or a mirror: `https://huggingface.co` unless `HF_ENDPOINT` or `--endpoint` says otherwise.
    public var endpoint: URL
    /// A Hub access token (`HF_TOKEN`), sent to the endpoint only, for gated and private models.
    public var token: String?
    /// Seconds a connection may stay silent (while connecting or between chunks) before it fails.
    public var idleTimeout: TimeInterval
    /// Tries in a row, per file, that may fail before the download gives up; a try that received
    /// data resets the count (as huggingface_hub's `http_get` does).
    public var attempts: Int
    /// Seconds before the first retry; doubled for each further one.
    public var retryDelay: TimeInterval
    public var userAgent: String

    public init(endpoint: URL = HubConfiguration.defaultEndpoint, token: String? = nil, idleTimeout: TimeInterval = 30,
                attempts: Int = 5, retryDelay: TimeInterval = 1, userAgent: String = "sdgen (+hub download)") throws(HubError) {
        guard let scheme = endpoint.scheme?.lowercased(), ["http", "https"].contains(scheme), endpoint.host != nil else {
            throw .invalidEndpoint(endpoint.absoluteString)
        }
        var text = endpoint.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        self.endpoint = URL(string: text) ?? endpoint
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.idleTimeout = idleTimeout
        self.attempts = max(1, attempts)
        self.retryDelay = retryDelay
        self.userAgent = userAgent
    }

    /// The endpoint from `endpoint` (a command-line option), else `HF_ENDPOINT`, else the Hub; the
    /// token from `HF_TOKEN`, else the file `huggingface-cli login` writes (`HF_TOKEN_PATH`, or
    /// `token` in the Hugging Face home).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment,
                                       endpoint: String? = nil) throws(HubError) -> HubConfiguration {
        let text = endpoint ?? environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
        var url = defaultEndpoint
        if let text {
            guard let parsed = URL(string: text) else { throw .invalidEndpoint(text) }
            url = parsed
        }
        return try HubConfiguration(endpoint: url, token: token(environment))
    }

    static func token(_ environment: [String: String]) -> String? {
        if let token = environment["HF_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty {
            return token
        }
        let path = environment["HF_TOKEN_PATH"]
            ?? HubCache.huggingFaceHome(environment).appendingPathComponent("token").path
        guard let data = FileManager.default.contents(atPath: path),
              let token = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              !token.isEmpty else { return nil }
        return token
    }
}
