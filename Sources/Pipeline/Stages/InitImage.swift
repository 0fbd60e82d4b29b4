import ImageIO

/// A request's init image and mask at the output size, prepared once for
/// all its images: the image fitted (`ImageFit`), the mask made grey,
/// fitted, inverted if asked and blurred (A1111's order) — 255 repaints.
struct InitImage {
    let image: RGBImage
    /// nil for image to image.
    let softMask: [UInt8]?
    let maskBlur: Int

    init?(_ generation: ResolvedGeneration) {
        let request = generation.request
        guard let original = request.initImage else { return nil }
        let (width, height) = (generation.width, generation.height)
        image = original.fitted(width: width, height: height, request.fit)
        maskBlur = request.maskBlur
        softMask = request.mask.map { mask in
            var grey = request.fit.apply(mask.grey, width: mask.width, height: mask.height, channels: 1, to: width, height)
            if request.invertMask { grey = grey.map { 255 - $0 } }
            return MaskBlur.blurred(grey, width: width, height: height, radius: request.maskBlur)
        }
    }

    /// The mask generation reads: the soft mask binarised at 0.5, as diffusers reads masks.
    var mask: InpaintingMask? {
        softMask.map { InpaintingMask(grey: $0, width: image.width, height: image.height) }
    }

    /// With a mask blur, the result over the original through the soft mask (A1111's overlay);
    /// without, the result as diffusers returns it.
    func finish(_ generated: RGBImage) -> RGBImage {
        guard maskBlur > 0, let softMask else { return generated }
        return MaskBlur.overlay(generated, on: image, mask: softMask)
    }
}
