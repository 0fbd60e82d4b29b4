import ImageIO

/// A request's init image and mask at the output size, prepared once for
/// all its images: the image fitted (`ImageFit`), the mask made grey,
/// fitted, inverted if asked and blurred (A1111's order) — 255 repaints.
/// With `InpaintArea.onlyMasked`, the mask's region of both instead, and
/// what it takes to put the result back into the whole image.
struct InitImage {
    /// What is encoded: the init image at the output size (or its masked region, scaled to it).
    let image: RGBImage
    /// nil for image to image.
    let softMask: [UInt8]?
    let maskBlur: Int
    /// "Only masked": where the result goes back, into which image, through which soft mask.
    let pasteBack: PasteBack?

    struct PasteBack {
        let original: RGBImage
        let region: PixelRect
        /// The soft mask inside the region (outside it the mask is zero: the original stays).
        let softMask: [UInt8]
    }

    init?(_ generation: ResolvedGeneration) {
        let request = generation.request
        guard let original = request.initImage else { return nil }
        let (width, height) = (generation.width, generation.height)
        maskBlur = request.maskBlur
        /// The mask at `size`: grey, fitted, inverted if asked, blurred.
        func blurredMask(_ mask: RGBImage, width: Int, height: Int) -> [UInt8] {
            var grey = request.fit.apply(mask.grey, width: mask.width, height: mask.height, channels: 1, to: width, height)
            if request.invertMask { grey = grey.map { 255 - $0 } }
            return MaskBlur.blurred(grey, width: width, height: height, radius: request.maskBlur)
        }
        if let mask = request.mask, case .onlyMasked(let padding) = request.inpaintArea {
            // The region is found in the blurred mask at the image's own size, as A1111 finds it.
            let whole = blurredMask(mask, width: original.width, height: original.height)
            // A blur can fade a tiny mask to nothing; then, as A1111, the whole picture is worked on.
            if let region = InpaintArea.region(of: whole, width: original.width, height: original.height,
                                               padding: padding, outputWidth: width, outputHeight: height) {
                // Scaled to fit, edges extended (A1111's "resize and fill"): the aspect ratios can differ
                // by rounding, or much where the image is too small to widen the region.
                let regionMask = region.crop(whole, width: original.width, channels: 1)
                image = original.cropped(to: region).fitted(width: width, height: height, .pad)
                self.softMask = ImageFit.pad.apply(regionMask, width: region.width, height: region.height,
                                                   channels: 1, to: width, height)
                pasteBack = PasteBack(original: original, region: region, softMask: regionMask)
                return
            }
        }
        image = original.fitted(width: width, height: height, request.fit)
        self.softMask = request.mask.map { blurredMask($0, width: width, height: height) }
        pasteBack = nil
    }

    /// The mask generation reads: the soft mask binarised at 0.5, as diffusers reads masks.
    var mask: InpaintingMask? {
        softMask.map { InpaintingMask(grey: $0, width: image.width, height: image.height) }
    }

    /// "Only masked": the result scaled back into its region ("crop and
    /// resize"), the original laid over it there through the soft mask, and
    /// the region put back (A1111's `apply_overlay`, whose overlay leaves the
    /// original as it was outside the region, where the mask is zero).
    /// Otherwise, with a mask blur, the result under the original through the
    /// soft mask doubled (A1111's "Whole picture"); without, the result as
    /// diffusers returns it.
    func finish(_ generated: RGBImage) -> RGBImage {
        if let pasteBack {
            let (region, original) = (pasteBack.region, pasteBack.original)
            let blended = MaskBlur.overlay(generated.fitted(width: region.width, height: region.height, .crop),
                                           on: original.cropped(to: region), mask: pasteBack.softMask)
            return original.pasting(blended, x: region.x, y: region.y)
        }
        guard maskBlur > 0, let softMask else { return generated }
        // A1111 doubles the whole picture's overlay mask: all that was repainted (≥ half) shows whole.
        return MaskBlur.overlay(generated, on: image, mask: softMask.map { UInt8(min(2 * Int($0), 255)) })
    }
}
