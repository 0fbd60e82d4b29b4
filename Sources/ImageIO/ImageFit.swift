/// How an input image is brought to the output size when the sizes differ,
/// as diffusers' `VaeImageProcessor.resize` modes (Lanczos, like Pillow):
/// `stretch` ("default") ignores the aspect ratio; `crop` ("crop") scales to
/// cover and cuts the centre; `pad` ("fill") scales to fit and fills the
/// rest by stretching the edge rows or columns outward (bicubic, as there).
public enum ImageFit: String, Sendable, CaseIterable, Codable {
    case stretch, crop, pad

    /// `pixels` ([height][width][channels]) at `newWidth` × `newHeight`.
    public func apply(_ pixels: [UInt8], width: Int, height: Int, channels: Int,
                      to newWidth: Int, _ newHeight: Int) -> [UInt8] {
        if width == newWidth && height == newHeight { return pixels }
        // The edge bands of `pad` go through Pillow's default filter (bicubic): diffusers names none there.
        func resize(_ source: [UInt8], _ w: Int, _ h: Int, to nw: Int, _ nh: Int,
                    box: LanczosResampler.Box? = nil) -> [UInt8] {
            LanczosResampler.resize(source, width: w, height: h, channels: channels, to: nw, nh, box: box,
                                    filter: box == nil ? .lanczos : .bicubic)
        }
        // Python's integer and true divisions, as diffusers writes them.
        let ratio = Double(newWidth) / Double(newHeight), sourceRatio = Double(width) / Double(height)
        switch self {
        case .stretch:
            return resize(pixels, width, height, to: newWidth, newHeight)
        case .crop:
            let sw = ratio > sourceRatio ? newWidth : width * newHeight / height
            let sh = ratio <= sourceRatio ? newHeight : height * newWidth / width
            var canvas = Canvas(width: newWidth, height: newHeight, channels: channels)
            canvas.paste(resize(pixels, width, height, to: sw, sh), width: sw, height: sh,
                         x: newWidth / 2 - sw / 2, y: newHeight / 2 - sh / 2)
            return canvas.pixels
        case .pad:
            let sw = ratio < sourceRatio ? newWidth : width * newHeight / height
            let sh = ratio >= sourceRatio ? newHeight : height * newWidth / width
            let resized = resize(pixels, width, height, to: sw, sh)
            var canvas = Canvas(width: newWidth, height: newHeight, channels: channels)
            canvas.paste(resized, width: sw, height: sh, x: newWidth / 2 - sw / 2, y: newHeight / 2 - sh / 2)
            if ratio < sourceRatio {
                let fill = newHeight / 2 - sh / 2
                if fill > 0 {
                    canvas.paste(resize(resized, sw, sh, to: newWidth, fill,
                                        box: .init(x0: 0, y0: 0, x1: Double(newWidth), y1: 0)),
                                 width: newWidth, height: fill, x: 0, y: 0)
                    canvas.paste(resize(resized, sw, sh, to: newWidth, fill,
                                        box: .init(x0: 0, y0: Double(sh), x1: Double(newWidth), y1: Double(sh))),
                                 width: newWidth, height: fill, x: 0, y: fill + sh)
                }
            } else if ratio > sourceRatio {
                let fill = newWidth / 2 - sw / 2
                if fill > 0 {
                    canvas.paste(resize(resized, sw, sh, to: fill, newHeight,
                                        box: .init(x0: 0, y0: 0, x1: 0, y1: Double(newHeight))),
                                 width: fill, height: newHeight, x: 0, y: 0)
                    canvas.paste(resize(resized, sw, sh, to: fill, newHeight,
                                        box: .init(x0: Double(sw), y0: 0, x1: Double(sw), y1: Double(newHeight))),
                                 width: fill, height: newHeight, x: fill + sw, y: 0)
                }
            }
            return canvas.pixels
        }
    }
}

/// Pillow's `Image.new` (black) and `paste` at any offset, clipped to the canvas.
struct Canvas {
    let width: Int, height: Int, channels: Int
    var pixels: [UInt8]

    init(width: Int, height: Int, channels: Int) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: 0, count: width * height * channels))
    }

    init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        (self.width, self.height, self.channels, self.pixels) = (width, height, channels, pixels)
    }

    mutating func paste(_ source: [UInt8], width sourceWidth: Int, height sourceHeight: Int, x: Int, y: Int) {
        let left = max(x, 0), right = min(x + sourceWidth, width)
        guard left < right else { return }
        for row in max(y, 0)..<min(y + sourceHeight, height) {
            let from = ((row - y) * sourceWidth + (left - x)) * channels
            let to = (row * width + left) * channels
            pixels.replaceSubrange(to..<(to + (right - left) * channels),
                                   with: source[from..<(from + (right - left) * channels)])
        }
    }
}

extension RGBImage {
    /// Fitted to `width` × `height` (see `ImageFit`).
    public func fitted(width newWidth: Int, height newHeight: Int, _ fit: ImageFit) -> RGBImage {
        try! RGBImage(width: newWidth, height: newHeight,
                      pixels: fit.apply(pixels, width: width, height: height, channels: 3, to: newWidth, newHeight))
    }

    /// One grey byte a pixel, as Pillow's `convert("L")` (ITU-R 601-2 luma in 16-bit fixed point).
    public var grey: [UInt8] {
        (0..<(width * height)).map { p in
            let r = UInt32(pixels[3 * p]), g = UInt32(pixels[3 * p + 1]), b = UInt32(pixels[3 * p + 2])
            return UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
    }
}
