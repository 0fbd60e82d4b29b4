import Hummingbird
import Logging
import NIOCore

/// Hummingbird's request context plus the connection, so a handler whose
/// job waits in the queue learns when its client has gone.
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
