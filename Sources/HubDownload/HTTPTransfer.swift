import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request, run to completion on Foundation's URLSession while the
/// calling thread waits; the body arrives in chunks, never whole in memory.
///
/// Why URLSession and not async-http-client: on Linux it is libcurl inside
/// the toolchain's FoundationNetworking, so it costs no build time (AHC
/// brings SwiftNIO and BoringSSL through swift-nio-ssl: minutes of compile
/// on every CI run) and it uses the system's CA store and proxy variables as
/// curl does. What downloads need works there and is tested against a
/// loopback server: streaming through `URLSessionDataDelegate`, `Range`
/// requests, redirects (with the `Authorization` header dropped when a
/// redirect leaves the endpoint's origin, as huggingface_hub does for the
/// Hub's CDN) and an idle timeout that libcurl's write callback re-arms on
/// every chunk (`timeoutIntervalForRequest`, whole seconds on Linux), so a
/// connect that hangs or a stalled body fails after that many seconds while
/// a long download does not. The one gap: the delegate cannot pause libcurl,
/// so if the disk were slower than the network, chunks would queue in memory.
final class HTTPTransfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// Error bodies are kept (for messages) up to this size; the rest is dropped.
    private static let errorBodyLimit = 64 * 1024

    /// Whether a response's body goes to the body handler (2xx and the
    /// caller says so) or is kept as a short error body.
    typealias ResponseHandler = (HTTPResponse) throws -> Bool
    typealias BodyHandler = (Data) throws -> Void

    // Touched on the session's serial delegate queue only, then read by the
    // caller after `finished` is signalled (the semaphore orders the two).
    private let onResponse: ResponseHandler
    private let onBody: BodyHandler
    private let origin: Origin?
    private var response: HTTPResponse?
    private var streamsBody = false
    private var errorBody = Data()
    private var handlerError: (any Error)?
    private var transportError: URLError?
    private let finished = DispatchSemaphore(value: 0)

    private init(origin: Origin?, onResponse: @escaping ResponseHandler, onBody: @escaping BodyHandler) {
        self.origin = origin
        self.onResponse = onResponse
        self.onBody = onBody
    }

    /// Performs `request`. `onResponse` sees the final response (after
    /// redirects) and returns whether its body should go to `onBody`; an error
    /// thrown by either handler cancels the transfer and is rethrown here.
    /// Transport failures are thrown as `URLError`.
    static func perform(_ request: URLRequest, idleTimeout: TimeInterval,
                        onResponse: @escaping ResponseHandler,
                        onBody: @escaping BodyHandler) throws -> HTTPResponse {
        let transfer = HTTPTransfer(origin: request.url.flatMap(Origin.init), onResponse: onResponse, onBody: onBody)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.urlCache = nil   // never keep multi-GB bodies in a cache
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpShouldSetCookies = false
        // Linux truncates to whole seconds, and 0 would fire at once.
        configuration.timeoutIntervalForRequest = max(1, idleTimeout.rounded(.up))
        configuration.timeoutIntervalForResource = 7 * 24 * 3600
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        queue.name = "sdgen.http"
        let session = URLSession(configuration: configuration, delegate: transfer, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request).resume()
        transfer.finished.wait()

        if let error = transfer.handlerError { throw error }
        if let error = transfer.transportError { throw error }
        guard var response = transfer.response else {
            throw URLError(.badServerResponse, userInfo: [NSURLErrorFailingURLErrorKey: request.url as Any])
        }
        response.errorBody = transfer.errorBody
        return response
    }

    /// A GET whose whole body (at most `limit` bytes) is wanted in memory.
    static func fetch(_ request: URLRequest, idleTimeout: TimeInterval, limit: Int) throws -> (HTTPResponse, Data) {
        nonisolated(unsafe) var body = Data()
        let response = try perform(request, idleTimeout: idleTimeout, onResponse: { $0.isSuccess }) { chunk in
            guard body.count + chunk.count <= limit else {
                throw URLError(.dataLengthExceedsMaximum, userInfo: [NSURLErrorFailingURLErrorKey: request.url as Any])
            }
            body.append(chunk)
        }
        return (response, body)
    }

    // MARK: URLSessionDataDelegate

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            fail(URLError(.badServerResponse), task: dataTask)
            completionHandler(.cancel)
            return
        }
        let received = HTTPResponse(http)
        self.response = received
        do {
            streamsBody = try onResponse(received)
        } catch {
            fail(handler: error, task: dataTask)
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard handlerError == nil else { return }
        if streamsBody {
            do { try onBody(data) } catch { fail(handler: error, task: dataTask) }
        } else if errorBody.count < Self.errorBodyLimit {
            errorBody.append(data.prefix(Self.errorBodyLimit - errorBody.count))
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        var next = request
        // Credentials for the Hub are not for the CDN it redirects to.
        if next.url.flatMap(Origin.init) != origin {
            next.setValue(nil, forHTTPHeaderField: "Authorization")
        }
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if handlerError == nil, let error {
            transportError = error as? URLError ?? URLError(.unknown, userInfo: [NSUnderlyingErrorKey: error])
        }
        finished.signal()
    }

    private func fail(handler error: any Error, task: URLSessionTask) {
        if handlerError == nil { handlerError = error }
        task.cancel()
    }

    private func fail(_ error: URLError, task: URLSessionTask) {
        if transportError == nil { transportError = error }
        task.cancel()
    }
}

/// The parts of a response the downloader reads.
struct HTTPResponse: Sendable {
    let status: Int
    let url: URL?
    /// Header names in lower case.
    let headers: [String: String]
    /// The start of the body of a response not handed to the body handler.
    var errorBody = Data()

    init(status: Int, url: URL?, headers: [String: String]) {
        self.status = status
        self.url = url
        self.headers = headers
    }

    init(_ response: HTTPURLResponse) {
        var headers: [String: String] = [:]
        for (name, value) in response.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        self.init(status: response.statusCode, url: response.url, headers: headers)
    }

    var isSuccess: Bool { (200..<300).contains(status) }

    func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The `rel="next"` target of a `Link` header (the Hub's pagination).
    var nextPage: URL? {
        guard let link = header("link") else { return nil }
        for part in link.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = fields.first, target.hasPrefix("<"), target.hasSuffix(">"),
                  fields.dropFirst().contains(where: { $0.replacingOccurrences(of: "\"", with: "") == "rel=next" })
            else { continue }
            return URL(string: String(target.dropFirst().dropLast()), relativeTo: url)?.absoluteURL
        }
        return nil
    }

    /// The start offset of a `206`'s `Content-Range: bytes START-END/TOTAL`.
    var contentRangeStart: Int64? {
        guard let value = header("content-range"), value.hasPrefix("bytes ") else { return nil }
        let range = value.dropFirst("bytes ".count).prefix { $0 != "/" }
        return range.split(separator: "-").first.flatMap { Int64($0) }
    }
}

/// Scheme, host and port: where credentials may be sent.
struct Origin: Equatable, Sendable {
    let scheme: String
    let host: String
    let port: Int

    init?(_ url: URL) {
        guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return nil }
        self.scheme = scheme
        self.host = host
        port = url.port ?? (scheme == "https" ? 443 : 80)
    }
}
