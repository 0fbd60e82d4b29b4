import Foundation
import Hummingbird
import Logging
import NIOCore
import Pipeline
import ServiceLifecycle

/// `sdgen serve`: one loaded model (`ModelHost`) behind a job queue, with
/// A1111's `/sdapi/v1` API (`SDAPIRoutes`), a web page (`WebPageRoutes`)
/// and `/metrics`, over Hummingbird. Every generation goes through the same
/// `GenerationService` the CLI uses, so an answer's PNG is the CLI's file byte for byte.
public final class SDGenServer: Sendable {
    public let configuration: ServerConfiguration
    public let host: ModelHost
    public let queue: JobQueue
    public let metrics: ServerMetrics
    public let history: ImageHistory
    let logger: Logger
    private let optionsLock = NSLock()
    nonisolated(unsafe) private var optionsValue: ServerOptions

    /// - Parameter host: with its first model loaded (`ModelHost.service(for:)`), which the options name.
    public init(configuration: ServerConfiguration, host: ModelHost, logger: Logger = Logger(label: "sdgen.serve")) {
        self.configuration = configuration
        self.host = host
        let metrics = ServerMetrics()
        self.metrics = metrics
        queue = JobQueue(limit: configuration.queueLimit) { waiting, running in metrics.queue(waiting: waiting, running: running) }
        history = ImageHistory(limit: configuration.historyLimit)
        self.logger = logger
        optionsValue = ServerOptions(modelCheckpoint: host.current?.entry.title ?? host.catalog.entries.first?.title ?? "")
    }

    /// The settings as `/sdapi/v1/options` last set them.
    public var options: ServerOptions {
        get { optionsLock.withLock { optionsValue } }
        set { optionsLock.withLock { optionsValue = newValue } }
    }

    /// Changes applied to the options as they are at that moment, under the
    /// lock: two posts that overlap both keep their keys.
    func updateOptions(_ changes: [String: JSONValue]) throws(APIError) {
        optionsLock.lock()
        defer { optionsLock.unlock() }
        optionsValue = try optionsValue.applying(changes, catalog: host.catalog)
    }

    /// The router with every route and middleware: the log line, then the
    /// CORS headers, outermost, so every refusal gets them too (the framework's
    /// own, made JSON inside them); then authentication.
    public func makeRouter() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: RequestLog(logger: logger, metrics: metrics))
        if !configuration.corsAllowOrigins.isEmpty {
            router.add(middleware: CORSPolicy(origins: configuration.corsAllowOrigins))
        }
        router.add(middleware: JSONErrors())
        if !configuration.credentials.isEmpty {
            router.add(middleware: BasicAuthentication(credentials: configuration.credentials))
        }
        addAPIRoutes(to: router)
        addWebPageRoutes(to: router)
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: self.metrics.text)))
        }
        return router
    }

    /// The application listening on the configured address; `onRunning` gets the bound port (for port 0).
    public func makeApplication(onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol {
        Application(router: makeRouter(),
                    server: .http1(configuration: .init(idleTimeout: TimeAmount(configuration.idleTimeout))),
                    configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                         serverName: "sdgen"),
                    onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
                    logger: logger)
    }

    /// Serves until SIGTERM or SIGINT: then the queue is shut first (the
    /// running job cancelled at its next step, waiting jobs refused with
    /// 503, no file written), then the listener closes once the answers are out.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let group = ServiceGroup(configuration: .init(
            services: [makeApplication(onRunning: onRunning), QueueShutdown(queue: queue)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Shuts the job queue on graceful shutdown; last in the service group, so first to shut down.
struct QueueShutdown: Service {
    let queue: JobQueue

    func run() async throws {
        try? await gracefulShutdown()
        await queue.shutDown()
    }
}
