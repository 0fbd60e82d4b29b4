import Foundation
import ImageIO

/// Images in JSON as A1111 sends them: base64, optionally as a data URL
/// ("data:image/png;base64,…"). URLs to fetch are refused: a request never
/// makes the server read anything but its own body.
enum Base64Image {
    static func decode(_ text: String, field: String) throws(APIError) -> RGBImage {
        let bytes = try self.bytes(text, field: field)
        do {
            return try ImageFile.decode(bytes, name: field)
        } catch {
            throw .invalid(field, "\(error)")
        }
    }

    /// The file's bytes from base64 or a data URL.
    static func bytes(_ text: String, field: String) throws(APIError) -> [UInt8] {
        var payload = Substring(text)
        if payload.hasPrefix("data:"), let comma = payload.firstIndex(of: ",") {
            payload = payload[payload.index(after: comma)...]
        } else if payload.hasPrefix("http://") || payload.hasPrefix("https://") {
            throw .invalid(field, "images must be sent as base64, not fetched from a URL")
        }
        guard let data = Data(base64Encoded: String(payload), options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw .invalid(field, "not a base64-encoded image")
        }
        return [UInt8](data)
    }

    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}
