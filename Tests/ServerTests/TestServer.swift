import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Pipeline
import Server
import ServiceLifecycle
import TensorCore
import TestSupport
import XCTest

/// `sdgen serve` in-process on a free loopback port, over a weights folder
/// holding the tiny fixture model (as "tiny") and, when asked, a second copy
/// (as "tiny-b"), driven over real HTTP.
final class TestServer: @unchecked Sendable {
    let server: SDGenServer
    let base: URL
    let folder: URL
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    static let backend = CPUBackend(threads: 2)

    /// - Parameter tinyAutoencoder: a TAESD folder to attach (×2, as the tiny model's VAE), for previews.
    init(configure: (inout ServerConfiguration) -> Void = { _ in }, secondModel: Bool = false,
         loras: [String: URL] = [:], tinyAutoencoder: URL? = nil) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-serve-\(UUID().uuidString)")
        let weights = folder.appendingPathComponent("weights")
        let loraFolder = weights.appendingPathComponent("lora")
        try FileManager.default.createDirectory(at: loraFolder, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: weights.appendingPathComponent("tiny"),
                                                   withDestinationURL: FixturePaths.url("pipeline"))
        if secondModel {
            try FileManager.default.createSymbolicLink(at: weights.appendingPathComponent("tiny-b"),
                                                       withDestinationURL: FixturePaths.url("pipeline"))
        }
        for (name, url) in loras {
            try FileManager.default.createSymbolicLink(at: loraFolder.appendingPathComponent(name + ".safetensors"),
                                                       withDestinationURL: url)
        }
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.outputsFolder = folder.appendingPathComponent("outputs")
        configure(&configuration)
        let catalog = ModelCatalog(folder: weights)
        let library = LoRALibrary(folder: loraFolder, allowsPaths: false)
        let host = ModelHost(catalog: catalog) { entry in
            let service = try GenerationService(loading: .path(entry.url), backend: Self.backend, loraLibrary: library)
            if let tinyAutoencoder { try service.attachTinyAutoencoder(folder: tinyAutoencoder) }
            return service
        }
        try host.service(for: catalog.entries[0])
        var logger = Logger(label: "sdgen.serve.test")
        logger.logLevel = .warning
        server = SDGenServer(configuration: configuration, host: host, logger: logger)

        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = server.makeApplication { port in continuation.yield(port) }
        group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        task = Task { [group] in try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw URLError(.cannotConnectToHost) }
        base = URL(string: "http://127.0.0.1:\(port)")!
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try? FileManager.default.removeItem(at: folder)
    }

    struct Answer {
        let status: Int
        let data: Data
        /// Header names lowercased.
        let headers: [String: String]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:] }
        var array: [[String: Any]] { (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] ?? [] }
        var text: String { String(decoding: data, as: UTF8.self) }
    }

    /// One request; `body` as JSON (or raw bytes), basic auth when `user` is given.
    func call(_ path: String, json body: Any? = nil, raw: Data? = nil, user: (String, String)? = nil,
              headers: [String: String] = [:], session: URLSession = .shared) async throws -> Answer {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.timeoutInterval = 120
        if let body {
            request.httpMethod = "POST"
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let raw {
            request.httpMethod = "POST"
            request.httpBody = raw
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let (name, password) = user {
            request.setValue("Basic " + Data("\(name):\(password)".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
        }
        for (key, value) in headers { request.setValue(value, forHTTPHeaderField: key) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for case let (name as String, value as String) in http.allHeaderFields { fields[name.lowercased()] = value }
        return Answer(status: http.statusCode, data: data, headers: fields)
    }

    /// Polls progress until `condition` holds or `seconds` pass.
    func waitForProgress(seconds: Double = 30, _ condition: ([String: Any]) -> Bool) async throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let progress = try await call("/sdapi/v1/progress").json
            if condition(progress) { return progress }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        return nil
    }
}

extension Dictionary where Key == String, Value == Any {
    var state: [String: Any] { self["state"] as? [String: Any] ?? [:] }
    func int(_ key: String) -> Int? { (self[key] as? NSNumber)?.intValue }
    func double(_ key: String) -> Double? { (self[key] as? NSNumber)?.doubleValue }
}

/// A JSON body made before it crosses into a task.
func encoded(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }

/// The PNGs of an answer, decoded.
func images(of answer: TestServer.Answer) throws -> [Data] {
    let list = try XCTUnwrap(answer.json["images"] as? [String], answer.text)
    return try list.map { try XCTUnwrap(Data(base64Encoded: $0)) }
}
