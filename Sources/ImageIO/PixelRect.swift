/// A rectangle of an image's pixels: (`x`, `y`) its top-left corner.
public struct PixelRect: Sendable, Equatable, CustomStringConvertible {
    public var x, y, width, height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        (self.x, self.y, self.width, self.height) = (x, y, width, height)
    }

    public var description: String { "\(width)×\(height) at (\(x), \(y))" }

    /// Its pixels of `pixels` ([height][width][channels]), which it must lie inside.
    public func crop(_ pixels: [UInt8], width imageWidth: Int, channels: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(width * height * channels)
        for row in y..<(y + height) {
            let start = (row * imageWidth + x) * channels
            out.append(contentsOf: pixels[start..<(start + width * channels)])
        }
        return out
    }
}

extension RGBImage {
    /// The pixels inside `rect`, which must lie inside the image.
    public func cropped(to rect: PixelRect) -> RGBImage {
        try! RGBImage(width: rect.width, height: rect.height, pixels: rect.crop(pixels, width: width, channels: 3))
    }

    /// This image with `image` laid over it, its top-left corner at (`x`, `y`), where the two overlap.
    public func pasting(_ image: RGBImage, x: Int, y: Int) -> RGBImage {
        var canvas = Canvas(width: width, height: height, channels: 3, pixels: pixels)
        canvas.paste(image.pixels, width: image.width, height: image.height, x: x, y: y)
        return try! RGBImage(width: width, height: height, pixels: canvas.pixels)
    }
}
