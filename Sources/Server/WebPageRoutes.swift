import Foundation
import Hummingbird

/// The web page at `/` (plain HTML, CSS and JS compiled into the binary:
/// no build step, no framework) and the history it shows: the images made
/// since the server started, held in memory (`ImageHistory`).
extension SDGenServer {
    func addWebPageRoutes(to router: Router<ServerRequestContext>) {
        router.get("/") { _, _ in Self.file(PackageResources.index_html, type: "text/html; charset=utf-8") }
        router.get("app.js") { _, _ in Self.file(PackageResources.app_js, type: "text/javascript; charset=utf-8") }
        router.get("style.css") { _, _ in Self.file(PackageResources.style_css, type: "text/css; charset=utf-8") }
        router.get("sdgen/v1/history") { _, _ in
            Self.json(.array(self.history.all.map { entry in
                ["id": JSONValue(entry.id), "infotext": .string(entry.infotext), "url": .string("/sdgen/v1/images/\(entry.id).png"),
                 "created": .number(entry.created.timeIntervalSince1970.rounded())]
            }))
        }
        router.get("sdgen/v1/images/:name") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard name.hasSuffix(".png"), let id = Int(name.dropLast(4)), let entry = self.history.entry(id: id) else {
                throw APIError(.notFound, "no such image in this server's history")
            }
            return Self.file(entry.png, type: "image/png")
        }
    }

    static func file(_ bytes: [UInt8], type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
                 body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
