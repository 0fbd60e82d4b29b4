import ImageIO

/// What of the init image inpainting works on (A1111's "Inpaint area").
public enum InpaintArea: Sendable, Equatable {
    /// The whole image, brought to the output size (diffusers; A1111's "Whole picture").
    case wholePicture
    /// A1111's "Only masked": the box around the (blurred) mask, `padding`
    /// pixels wider on each side and widened to the output size's aspect
    /// ratio, is cut out of the init image and inpainted at the output size;
    /// the result is scaled back into the box and laid over the init image
    /// through the soft mask. The image keeps its own size, and a small mask
    /// gets the model's full resolution.
    case onlyMasked(padding: Int)

    /// The region "Only masked" cuts out of a `width` × `height` mask
    /// (255 repaints) for an output of `outputWidth` × `outputHeight`, as
    /// A1111's `get_crop_region_v2` and `expand_crop_region` find it: the box
    /// of the non-zero pixels, padded and clipped to the image; then grown
    /// about its centre along the short side to the output's aspect ratio
    /// (Python's float arithmetic and truncation, reproduced), shifted back
    /// inside the image, and clipped where the image is too small. nil for a
    /// mask without a non-zero pixel.
    public static func region(of mask: [UInt8], width: Int, height: Int, padding: Int,
                       outputWidth: Int, outputHeight: Int) -> PixelRect? {
        var (x1, y1, x2, y2) = (width, height, 0, 0)
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] != 0 {
                (x1, y1, x2, y2) = (min(x1, x), min(y1, y), max(x2, x + 1), max(y2, y + 1))
            }
        }
        guard x1 < x2 else { return nil }
        (x1, y1, x2, y2) = (max(x1 - padding, 0), max(y1 - padding, 0), min(x2 + padding, width), min(y2 + padding, height))

        /// One side grown to `desired` about its centre (the odd pixel after),
        /// shifted back inside 0..<limit, then clipped to it.
        func grow(_ low: inout Int, _ high: inout Int, to desired: Double, limit: Int) {
            let growth = Int(desired - Double(high - low))
            low -= growth / 2
            high += growth - growth / 2
            if high >= limit { low -= high - limit; high = limit }
            if low < 0 { high -= low; low = 0 }
            if high >= limit { high = limit }
        }
        let outputRatio = Double(outputWidth) / Double(outputHeight)
        if Double(x2 - x1) / Double(y2 - y1) > outputRatio {
            grow(&y1, &y2, to: Double(x2 - x1) / outputRatio, limit: height)
        } else {
            grow(&x1, &x2, to: Double(y2 - y1) * outputRatio, limit: width)
        }
        return PixelRect(x: x1, y: y1, width: x2 - x1, height: y2 - y1)
    }
}
