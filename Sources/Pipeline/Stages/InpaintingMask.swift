import ImageIO

/// Which pixels inpainting repaints, read as diffusers' mask processor reads
/// a mask image: converted to grey as Pillow's `convert("L")` does
/// (ITU-R 601 weights in 16-bit fixed point), then binarised at 0.5 —
/// white (≥ 128) repaints, black keeps; `inverted` swaps them.
public struct InpaintingMask: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// 1 where repainted, row-major.
    public let values: [Float]

    public init(_ image: RGBImage, inverted: Bool = false) {
        width = image.width
        height = image.height
        values = (0..<(image.width * image.height)).map { p in
            let r = UInt32(image.pixels[3 * p]), g = UInt32(image.pixels[3 * p + 1]), b = UInt32(image.pixels[3 * p + 2])
            let grey = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16
            return (Float(grey) / 255 >= 0.5) != inverted ? 1 : 0
        }
    }

    /// Whether anything is repainted (an all-black mask leaves nothing to do).
    public var repaintsAnything: Bool { values.contains(1) }

    func repaints(pixel index: Int) -> Bool { values[index] >= 0.5 }

    /// At latent resolution by nearest neighbour, as `torch.nn.functional.interpolate`'s default
    /// (source index ⌊destination · in/out⌋).
    func latentMask(width latentWidth: Int, height latentHeight: Int) -> [Float] {
        let scaleY = Float(height) / Float(latentHeight), scaleX = Float(width) / Float(latentWidth)
        var out = [Float](repeating: 0, count: latentWidth * latentHeight)
        for y in 0..<latentHeight {
            let sourceY = min(Int((Float(y) * scaleY).rounded(.down)), height - 1)
            for x in 0..<latentWidth {
                let sourceX = min(Int((Float(x) * scaleX).rounded(.down)), width - 1)
                out[y * latentWidth + x] = values[sourceY * width + sourceX]
            }
        }
        return out
    }
}
