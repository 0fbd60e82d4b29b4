import CPNGShim
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reading and writing PNG files through libpng (via CPNGShim, which keeps
/// libpng's longjmp-based errors inside C).
public enum PNGFile {
    /// The text chunk key A1111 and the tools that read its files use for
    /// the generation parameters.
    public static let parametersKey = "parameters"

    /// Writes `image` as an 8-bit RGB PNG with the given text chunks placed
    /// before the image data (readers that stop early still see them): the
    /// bytes of `encode`. The file appears complete or not at all (see
    /// `AtomicFile`); with `overwrite` false an existing file is an error, `.fileExists`.
    public static func write(_ image: RGBImage, to url: URL,
                             textChunks: [(key: String, value: String)] = [],
                             overwrite: Bool = true) throws(ImageIOError) {
        try write(encode(image, textChunks: textChunks), to: url, overwrite: overwrite)
    }

    /// Writes already encoded PNG bytes as `write(_:to:)` does.
    public static func write(_ bytes: [UInt8], to url: URL, overwrite: Bool = true) throws(ImageIOError) {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        try AtomicFile.write(to: url, overwrite: overwrite) { descriptor throws(ImageIOError) in
            let code = bytes.withUnsafeBytes { AtomicFile.writeAll(descriptor, $0) }
            if code != 0 { throw AtomicFile.failure(code, path: path, directory: directory, operation: "write") }
        }
    }

    /// `image` as the bytes of an 8-bit RGB PNG file, text chunks before the
    /// image data: what `write` puts in a file, for answers that never touch the disk.
    public static func encode(_ image: RGBImage,
                              textChunks: [(key: String, value: String)] = []) throws(ImageIOError) -> [UInt8] {
        var encoded: [PNGText.Encoded] = []
        for chunk in textChunks { encoded.append(try PNGText.encode(key: chunk.key, value: chunk.value)) }
        guard image.width <= Int(UInt32.max), image.height <= Int(UInt32.max) else {
            throw .invalidImage(reason: "size \(image.width)x\(image.height) is too large for PNG")
        }
        var buffer = sdgen_png_buffer()
        var error = sdgen_png_error()
        let status = withCStrings(encoded) { texts in
            image.pixels.withUnsafeBufferPointer { pixels in
                sdgen_png_encode_rgb8(pixels.baseAddress, UInt32(image.width), UInt32(image.height),
                                      texts.baseAddress, texts.count, &buffer, &error)
            }
        }
        defer { sdgen_png_buffer_free(&buffer) }
        switch sdgen_png_status(rawValue: UInt32(bitPattern: status)) {
        case SDGEN_PNG_OK:
            return Array(UnsafeBufferPointer(start: buffer.data, count: buffer.size))
        case SDGEN_PNG_ERR_NOMEM:
            throw .outOfMemory(path: "(PNG in memory)")
        default:
            throw .invalidImage(reason: "libpng: \(message(of: error))")
        }
    }

    /// The file's text chunks (tEXt, zTXt and iTXt, wherever they sit), by
    /// key; where a key repeats, the last one wins, as in Pillow.
    public static func textChunks(at url: URL) throws(ImageIOError) -> [String: String] {
        try decode(readFile(url.path), path: url.path, wantPixels: false).textChunks
    }

    /// The text chunks of PNG bytes received some other way (an upload); `name` stands for the path in errors.
    public static func textChunks(of bytes: [UInt8], name: String) throws(ImageIOError) -> [String: String] {
        try decode(bytes, path: name, wantPixels: false).textChunks
    }

    /// The pixels (any PNG colour type and depth, converted to 8-bit RGB,
    /// alpha dropped) and the text chunks.
    public static func read(at url: URL) throws(ImageIOError) -> (image: RGBImage, textChunks: [String: String]) {
        let decoded = try decode(readFile(url.path), path: url.path, wantPixels: true)
        guard let image = decoded.image else { throw .outOfMemory(path: url.path) }
        return (image, decoded.textChunks)
    }

    // MARK: - Decoding

    static func decode(_ bytes: [UInt8], path: String,
                               wantPixels: Bool) throws(ImageIOError) -> (image: RGBImage?, textChunks: [String: String]) {
        var decoded = sdgen_png_decoded()
        var error = sdgen_png_error()
        let status = bytes.withUnsafeBufferPointer { data in
            sdgen_png_read(data.baseAddress, data.count, wantPixels ? 1 : 0, &decoded, &error)
        }
        switch sdgen_png_status(rawValue: UInt32(bitPattern: status)) {
        case SDGEN_PNG_OK: break
        case SDGEN_PNG_ERR_NOT_PNG: throw .notPNG(path: path)
        case SDGEN_PNG_ERR_TRUNCATED: throw .truncated(path: path)
        case SDGEN_PNG_ERR_NOMEM: throw .outOfMemory(path: path)
        default: throw .corrupt(path: path, detail: message(of: error))
        }
        defer { sdgen_png_decoded_free(&decoded) }

        var texts: [String: String] = [:]
        for index in 0..<decoded.text_count {
            let text = decoded.texts[index]
            let key = PNGText.decode(UnsafeBufferPointer(start: UnsafeRawPointer(text.key).assumingMemoryBound(to: UInt8.self),
                                                         count: strlen(text.key)), isUTF8: false)
            let value = PNGText.decode(UnsafeBufferPointer(start: UnsafeRawPointer(text.value).assumingMemoryBound(to: UInt8.self),
                                                           count: text.value_length), isUTF8: text.utf8 != 0)
            texts[key] = value
        }
        var image: RGBImage?
        if wantPixels, let pixels = decoded.pixels {
            let width = Int(decoded.width), height = Int(decoded.height)
            image = try RGBImage(width: width, height: height,
                                 pixels: Array(UnsafeBufferPointer(start: pixels, count: width * height * 3)))
        }
        return (image, texts)
    }

    /// The whole file: PNGs are small, and libpng then reads from memory, so
    /// a short file shows up as "truncated" rather than as an I/O error.
    static func readFile(_ path: String) throws(ImageIOError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw readFailure(errno, path: path, operation: "open") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw readFailure(errno, path: path, operation: "stat") }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw .systemError(path: path, operation: "read", errno: EISDIR)
        // A device or pipe may never end (/dev/zero); no PNG lives there.
        default: throw .notPNG(path: path)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(max(status.st_size, 0)))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw readFailure(errno, path: path, operation: "read")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    private static func readFailure(_ code: Int32, path: String, operation: String) -> ImageIOError {
        switch code {
        case ENOENT, ENOTDIR: return .fileNotFound(path: path)
        case EACCES, EPERM: return .permissionDenied(path: path)
        case ENOMEM: return .outOfMemory(path: path)
        default: return .systemError(path: path, operation: operation, errno: code)
        }
    }

    // MARK: - C glue

    /// Calls `body` with the chunks as C structs whose strings live for the call.
    private static func withCStrings<R>(_ chunks: [PNGText.Encoded],
                                        _ body: (UnsafeBufferPointer<sdgen_png_text_in>) -> R) -> R {
        var storage: [UnsafeMutablePointer<CChar>] = []
        defer { storage.forEach { $0.deallocate() } }
        func cString(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar> {
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (index, byte) in bytes.enumerated() { pointer[index] = CChar(bitPattern: byte) }
            pointer[bytes.count] = 0
            storage.append(pointer)
            return pointer
        }
        let structs = chunks.map { chunk in
            sdgen_png_text_in(key: cString(chunk.key), value: cString(chunk.value), utf8: chunk.isUTF8 ? 1 : 0)
        }
        return structs.withUnsafeBufferPointer(body)
    }

    private static func message(of error: sdgen_png_error) -> String {
        withUnsafeBytes(of: error.message) { raw in
            let bytes = raw.prefix(while: { $0 != 0 })
            return bytes.isEmpty ? "unknown libpng error" : String(decoding: bytes, as: UTF8.self)
        }
    }
}
