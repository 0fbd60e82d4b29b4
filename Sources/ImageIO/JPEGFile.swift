import CJPEGShim
import Foundation

/// JPEG input through libjpeg-turbo: baseline and progressive, grey or
/// colour, decoded to 8-bit RGB with libjpeg's defaults — the pixels Pillow
/// (and so diffusers) gets from the same file.
public enum JPEGFile {
    public static func read(at url: URL) throws(ImageIOError) -> RGBImage {
        try decode(PNGFile.readFile(url.path), path: url.path)
    }

    static func decode(_ bytes: [UInt8], path: String) throws(ImageIOError) -> RGBImage {
        var image = sdgen_jpeg_image()
        var message = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { data in
            message.withUnsafeMutableBufferPointer { sdgen_jpeg_read(data.baseAddress, data.count, &image, $0.baseAddress) }
        }
        let detail = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch status {
        case SDGEN_JPEG_OK: break
        case SDGEN_JPEG_ERR_NOT_JPEG: throw .notAnImage(path: path)
        case SDGEN_JPEG_ERR_TRUNCATED: throw .truncated(path: path)
        case SDGEN_JPEG_ERR_NOMEM: throw .outOfMemory(path: path)
        default: throw .corruptJPEG(path: path, detail: detail)
        }
        defer { sdgen_jpeg_free(&image) }
        let width = Int(image.width), height = Int(image.height)
        return try RGBImage(width: width, height: height,
                            pixels: Array(UnsafeBufferPointer(start: image.pixels, count: width * height * 3)))
    }
}

/// An input image by its content: PNG (any colour type and depth) or JPEG.
public enum ImageFile {
    public static func read(at url: URL) throws(ImageIOError) -> RGBImage {
        try decode(PNGFile.readFile(url.path), name: url.path)
    }

    /// An image file's bytes received some other way (an upload); `name`
    /// stands for the path in errors.
    public static func decode(_ bytes: [UInt8], name: String) throws(ImageIOError) -> RGBImage {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            guard let image = try PNGFile.decode(bytes, path: name, wantPixels: true).image else {
                throw .outOfMemory(path: name)
            }
            return image
        }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return try JPEGFile.decode(bytes, path: name) }
        throw .notAnImage(path: name)
    }
}
