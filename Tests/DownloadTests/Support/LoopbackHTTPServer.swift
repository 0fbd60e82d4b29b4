import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on 127.0.0.1 and an ephemeral port, for tests:
/// one thread accepts, one thread per connection reads a request, asks the
/// handler for a reply and writes it (`Connection: close`). A reply can cut
/// the connection after some body bytes, or never answer at all.
final class LoopbackHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        let method: String
        /// Path and query, as sent.
        let target: String
        /// Names in lower case.
        let headers: [String: String]

        var path: String { String(target.prefix { $0 != "?" }) }
        var query: String? { target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) } }
    }

    enum Reply: Sendable {
        /// `cutAfter`: close the connection after that many body bytes.
        case response(status: Int, headers: [String: String], body: Data, cutAfter: Int?)
        /// Read the request, then say nothing until the server stops.
        case silent

        static func status(_ status: Int, headers: [String: String] = [:], body: String = "") -> Reply {
            .response(status: status, headers: headers, body: Data(body.utf8), cutAfter: nil)
        }
    }

    let port: UInt16
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    private let listener: Int32
    private let handler: @Sendable (Request) -> Reply
    private let lock = NSLock()
    private var stopped = false
    private var openConnections = 0
    private var requestLog: [Request] = []
    private let acceptLoopDone = DispatchSemaphore(value: 0)

    init(handler: @escaping @Sendable (Request) -> Reply) throws {
        self.handler = handler
        let (descriptor, port) = try Self.listen()
        listener = descriptor
        self.port = port
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// Every request received so far, in order.
    var requests: [Request] { lock.withLock { requestLog } }

    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        acceptLoopDone.wait()
        close(listener)
        // Connection threads notice `stopped` within 50 ms.
        for _ in 0..<100 where lock.withLock({ openConnections }) > 0 { usleep(20_000) }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// A port on 127.0.0.1 with nothing listening (bound once, then released).
    static func closedPort() throws -> UInt16 {
        let (descriptor, port) = try listen()
        close(descriptor)
        return port
    }

    private static func listen() throws -> (Int32, UInt16) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(descriptor, address, length) == 0 && Glibc.listen(descriptor, 64) == 0
                    && getsockname(descriptor, address, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        return (descriptor, UInt16(bigEndian: address.sin_port))
    }

    private func acceptLoop() {
        defer { acceptLoopDone.signal() }
        while !isStopped {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            lock.withLock { openConnections += 1 }
            let thread = Thread { [self] in
                serve(connection)
                close(connection)
                lock.withLock { openConnections -= 1 }
            }
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let request = readRequest(connection) else { return }
        lock.withLock { requestLog.append(request) }
        switch handler(request) {
        case .silent:
            for _ in 0..<600 where !isStopped { usleep(50_000) }   // at most 30 s
        case .response(let status, let headers, let body, let cutAfter):
            var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
            var fields = headers
            fields["Content-Length"] = fields["Content-Length"] ?? "\(body.count)"
            fields["Connection"] = "close"
            for (name, value) in fields.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
            head += "\r\n"
            guard send(connection, Data(head.utf8)) else { return }
            guard request.method != "HEAD" else { return }
            let count = min(body.count, cutAfter ?? body.count)
            _ = send(connection, body.prefix(count))
            if cutAfter != nil { shutdown(connection, Int32(SHUT_RDWR)) }
        }
    }

    private func readRequest(_ connection: Int32) -> Request? {
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        while received.count < 65536 {
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            received += buffer[0..<count]
            if let end = received.firstRange(of: terminator) {
                let text = String(decoding: received[..<end.lowerBound], as: UTF8.self)
                var lines = text.components(separatedBy: "\r\n")
                let start = lines.removeFirst().split(separator: " ")
                guard start.count == 3 else { return nil }
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                return Request(method: String(start[0]), target: String(start[1]), headers: headers)
            }
        }
        return nil
    }

    private func send(_ connection: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let sent = Glibc.send(connection, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0, errno == EINTR { continue }
                guard sent > 0 else { return false }
                offset += sent
            }
            return true
        }
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 206: "Partial Content"
        case 302: "Found"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 416: "Range Not Satisfiable"
        case 500: "Internal Server Error"
        default: "Status"
        }
    }
}
