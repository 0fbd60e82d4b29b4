import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `--api-auth user:pass[,user2:pass2]`: HTTP basic authentication on every
/// route, as A1111's `--api-auth`. A request without valid credentials gets
/// 401 with a `WWW-Authenticate` challenge, so a browser asks for them.
/// Credentials are compared as SHA-256 digests in constant time, so the time
/// an answer takes says nothing about how much of a guess was right.
public struct BasicAuthentication<Context: RequestContext>: RouterMiddleware {
    public struct Credential: Sendable, Equatable {
        public let user: String
        public let password: String
    }

    private let digests: [[UInt8]]

    public init(credentials: [Credential]) {
        digests = credentials.map { Self.digest("\($0.user):\($0.password)") }
    }

    /// "user:pass,user2:pass2"; a password may contain ':' (the first one splits).
    public static func parse(_ text: String) throws -> [Credential] {
        try text.split(separator: ",").map { pair in
            guard let colon = pair.firstIndex(of: ":"), colon != pair.startIndex, pair.index(after: colon) != pair.endIndex else {
                throw ServerError.configuration("--api-auth: expected user:password pairs separated by commas")
            }
            return Credential(user: String(pair[..<colon]), password: String(pair[pair.index(after: colon)...]))
        }
    }

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("basic "),
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              allows(Self.digest(String(decoding: decoded, as: UTF8.self))) else {
            var error = APIError(.unauthorized, "credentials required (HTTP basic authentication)")
            error.headers[.wwwAuthenticate] = "Basic realm=\"sdgen\", charset=\"UTF-8\""
            throw error
        }
        return try await next(request, context)
    }

    /// Every stored digest is compared, each in full, whatever matches.
    private func allows(_ digest: [UInt8]) -> Bool {
        var matched = false
        for stored in digests {
            var difference: UInt8 = 0
            for (a, b) in zip(stored, digest) { difference |= a ^ b }
            matched = matched || difference == 0
        }
        return matched
    }

    private static func digest(_ text: String) -> [UInt8] { Array(SHA256.hash(data: Data(text.utf8))) }
}
