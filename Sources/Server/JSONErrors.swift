import HTTPTypes
import Hummingbird

/// The framework's own refusals (no such route, a body it cannot read) as
/// the JSON errors every other answer uses, so clients parse one shape.
struct JSONErrors<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            throw APIError(error.status, error.body ?? (error.status == .notFound
                ? "no such route: \(request.method.rawValue) \(request.uri.path)" : error.status.reasonPhrase))
        }
    }
}
