import Foundation
import ImageIO

/// A1111's mask blur (modules/processing.py): the grey mask through a
/// Gaussian of σ = `radius` pixels, kernel 2·⌊2.5σ + 0.5⌋ + 1 wide, first
/// along rows then along columns (two 8-bit passes, as its two
/// `cv2.GaussianBlur` calls; borders reflected without repeating the edge,
/// OpenCV's default). Generation still reads the mask binarised at 0.5;
/// the soft mask then lays the result over the original image
/// (`overlay`), as A1111's `apply_overlay` does, so the seam fades.
public enum MaskBlur {
    public static func blurred(_ grey: [UInt8], width: Int, height: Int, radius: Int) -> [UInt8] {
        guard radius > 0 else { return grey }
        let sigma = Double(radius)
        let half = Int(2.5 * sigma + 0.5)
        var kernel = (-half...half).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        func reflect(_ i: Int, _ n: Int) -> Int {
            guard n > 1 else { return 0 }
            var i = i
            while i < 0 || i >= n { i = i < 0 ? -i : 2 * (n - 1) - i }
            return i
        }
        var rows = [UInt8](repeating: 0, count: grey.count)
        for y in 0..<height {
            for x in 0..<width {
                var sum = 0.0
                for (k, weight) in kernel.enumerated() { sum += weight * Double(grey[y * width + reflect(x + k - half, width)]) }
                rows[y * width + x] = UInt8(min(max(sum.rounded(), 0), 255))
            }
        }
        var out = [UInt8](repeating: 0, count: grey.count)
        for y in 0..<height {
            for x in 0..<width {
                var sum = 0.0
                for (k, weight) in kernel.enumerated() { sum += weight * Double(rows[reflect(y + k - half, height) * width + x]) }
                out[y * width + x] = UInt8(min(max(sum.rounded(), 0), 255))
            }
        }
        return out
    }

    /// The generated image with the original laid over it through the
    /// inverted soft mask (255: generated, 0: original), in Pillow's integer
    /// arithmetic as A1111's `apply_overlay` reaches it: the original pasted
    /// through the mask onto transparent premultiplied RGBa, converted to
    /// straight RGBA, then `alpha_composite`d over the opaque result —
    /// equal to Pillow for every (original, mask, generated) byte triple.
    public static func overlay(_ generated: RGBImage, on original: RGBImage, mask: [UInt8]) -> RGBImage {
        /// Pillow's division by 255 of a value already offset for rounding.
        func divide255(_ value: Int) -> Int { ((value >> 8) + value) >> 8 }
        let precision = 7  // Pillow's AlphaComposite.c PRECISION_BITS
        var pixels = [UInt8](repeating: 0, count: generated.pixels.count)
        for pixel in 0..<mask.count {
            let alpha = divide255(255 * (255 - Int(mask[pixel])) + 128)  // the overlay's
            // The overlay's share: Pillow's src·255²/(src·255 + dst·(255 − src)), exactly
            // alpha·2⁷ here, since the generated image below is opaque (dst = 255).
            let coefficient = alpha << precision
            for channel in 3 * pixel..<(3 * pixel + 3) {
                let below = Int(generated.pixels[channel])
                guard alpha > 0 else { pixels[channel] = UInt8(below); continue }
                let premultiplied = divide255(Int(original.pixels[channel]) * alpha + 128)
                let above = alpha == 255 ? premultiplied : min(255, 255 * premultiplied / alpha)
                let sum = above * coefficient + below * ((255 << precision) - coefficient) + (0x80 << precision)
                pixels[channel] = UInt8(divide255(sum) >> precision)
            }
        }
        return try! RGBImage(width: generated.width, height: generated.height, pixels: pixels)
    }
}
