import Foundation

/// How `sdgen serve` runs: where it listens, who may call it, how much it
/// takes, where saved images go. The defaults are declared here once; the
/// CLI's help reads them.
public struct ServerConfiguration: Sendable {
    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 7860
    public static let defaultQueueLimit = 16
    public static let defaultMaxBodyBytes = 32 << 20
    public static let defaultHistoryLimit = 64
    public static let defaultIdleTimeout: Duration = .seconds(60)

    /// Loopback unless told otherwise: the API runs any prompt it is given.
    public var host = ServerConfiguration.defaultHost
    public var port = ServerConfiguration.defaultPort
    /// Empty: no authentication.
    public var credentials: [BasicAuthentication<ServerRequestContext>.Credential] = []
    /// Jobs waiting besides the running one.
    public var queueLimit = ServerConfiguration.defaultQueueLimit
    public var maxBodyBytes = ServerConfiguration.defaultMaxBodyBytes
    public var corsAllowOrigins: [String] = []
    /// Where `save_images: true` writes, named as the CLI names its outputs.
    public var outputsFolder = URL(fileURLWithPath: "outputs")
    public var historyLimit = ServerConfiguration.defaultHistoryLimit
    /// A connection that sends nothing this long while idle or part-way
    /// through a request is closed (a request being answered is not idle):
    /// half-sent headers held connections open for good.
    public var idleTimeout = ServerConfiguration.defaultIdleTimeout

    public init() {}
}
