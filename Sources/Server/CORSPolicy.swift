import HTTPTypes
import Hummingbird

/// `--cors-allow-origins`: browsers on those origins may call the API (as
/// A1111's flag of that name). A listed origin is echoed back with
/// `Vary: Origin`; "*" allows any. Preflight requests are answered here.
public struct CORSPolicy<Context: RequestContext>: RouterMiddleware {
    let origins: [String]

    public init(origins: [String]) { self.origins = origins }

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains("*") || origins.contains(origin) else {
            return try await next(request, context)
        }
        var response: Response
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            response = Response(status: .noContent)
            response.headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            response.headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders]
                ?? "Content-Type, Authorization"
            response.headers[.accessControlMaxAge] = "600"
        } else {
            do {
                response = try await next(request, context)
            } catch let error as APIError {
                response = try error.response(from: request, context: context)
            }
        }
        response.headers[.accessControlAllowOrigin] = origins.contains("*") ? "*" : origin
        response.headers[.vary] = "Origin"
        return response
    }
}
