import ImageIO

/// Which pixels inpainting repaints, read as diffusers' mask processor reads
/// a mask image: converted to grey as Pillow's `convert("L")` does, resized,
/// then binarised at 0.5 — white (≥ 128) repaints, black keeps; `inverted` swaps them.
public struct InpaintingMask: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// 1 where repainted, row-major.
    public let values: [Float]

    /// From grey bytes (Pillow's "L" image), binarised at 0.5 as diffusers' mask processor does.
    public init(grey: [UInt8], width: Int, height: Int, inverted: Bool = false) {
        self.width = width
        self.height = height
        values = grey.map { (Float($0) / 255 >= 0.5) != inverted ? 1 : 0 }
    }

    /// A mask image at its own size (`InitImage` fits the grey mask to the output size first).
    public init(_ image: RGBImage, inverted: Bool = false) {
        self.init(grey: image.grey, width: image.width, height: image.height, inverted: inverted)
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
