import Foundation
import Pipeline

/// The one model the server holds loaded, as a `GenerationService`, and
/// the switch to another from the catalog. Switching frees the loaded
/// model before loading the next (one model's memory at a time); if the
/// next fails to load, the previous one is loaded again. Switches run
/// inside the job queue's turn, so no generation sees a half-switched model.
public final class ModelHost: @unchecked Sendable {
    public typealias Loader = @Sendable (ModelCatalog.Entry) throws -> GenerationService

    private let lock = NSLock()
    private var catalogValue: ModelCatalog
    private var loaded: (entry: ModelCatalog.Entry, service: GenerationService)?
    private let loader: Loader

    public init(catalog: ModelCatalog, loader: @escaping Loader) {
        catalogValue = catalog
        self.loader = loader
    }

    public var catalog: ModelCatalog { lock.withLock { catalogValue } }

    public func refreshCatalog() { lock.withLock { catalogValue.refresh() } }

    /// The loaded model and its catalog entry, if any.
    public var current: (entry: ModelCatalog.Entry, service: GenerationService)? { lock.withLock { loaded } }

    /// A model of the catalog that does not load (a corrupt or foreign file):
    /// the client's choice, named by its title rather than the server's path.
    public struct LoadFailure: Error, CustomStringConvertible {
        public let title: String
        public let reason: String
        public var description: String { "the model '\(title)' does not load: \(reason)" }
    }

    /// The service for `entry`, loading it if another model is loaded.
    @discardableResult
    public func service(for entry: ModelCatalog.Entry) throws -> GenerationService {
        if let current, current.entry == entry { return current.service }
        let previous = current?.entry
        lock.withLock { loaded = nil }
        do {
            let service = try loader(entry)
            lock.withLock { loaded = (entry, service) }
            return service
        } catch {
            if let previous, let service = try? loader(previous) { lock.withLock { loaded = (previous, service) } }
            throw LoadFailure(title: entry.title,
                              reason: "\(error)".replacingOccurrences(of: entry.url.path, with: entry.title))
        }
    }
}
