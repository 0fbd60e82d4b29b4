import Foundation
import HTTPTypes
import Hummingbird

/// An answer that is not a success, as JSON `{"error": …, "detail": …}`
/// (A1111's own error shape; `field` names the request field at fault).
/// Validation failures are 422, as A1111's FastAPI answers them.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let detail: String
    public let field: String?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ detail: String, field: String? = nil) {
        self.status = status
        self.detail = detail
        self.field = field
    }

    /// A field with a wrong type or value.
    public static func invalid(_ field: String, _ detail: String) -> APIError {
        APIError(.unprocessableContent, "\(field): \(detail)", field: field)
    }

    public var description: String { "\(status.code) \(detail)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var object: [String: JSONValue] = ["error": .string(status.reasonPhrase), "detail": .string(detail)]
        if let field { object["field"] = .string(field) }
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields,
                        body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(object).text)))
    }
}
