import ImageIO

/// Outpainting as inpainting on a larger canvas: the image placed at
/// (left, top) of a canvas grown by the margins, the new border filled with
/// the nearest edge pixel (numpy's `pad(mode="edge")`: a neutral start that
/// only matters below strength 1) and masked white, the old image black.
public struct OutpaintMargins: Sendable, Equatable {
    public var left, top, right, bottom: Int

    public init(left: Int, top: Int, right: Int, bottom: Int) {
        (self.left, self.top, self.right, self.bottom) = (left, top, right, bottom)
    }

    /// `L,T,R,B` as `--outpaint` takes it (one number: all four sides).
    public init?(argument: String) {
        let values = argument.split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard values.allSatisfy({ $0 != nil }) else { return nil }
        let sides = values.map { $0! }
        switch sides.count {
        case 1: self.init(left: sides[0], top: sides[0], right: sides[0], bottom: sides[0])
        case 4: self.init(left: sides[0], top: sides[1], right: sides[2], bottom: sides[3])
        default: return nil
        }
    }

    public var isEmpty: Bool { left == 0 && top == 0 && right == 0 && bottom == 0 }

    /// The canvas and its mask (white: new border).
    public func canvas(for image: RGBImage) -> (image: RGBImage, mask: RGBImage) {
        let width = image.width + left + right, height = image.height + top + bottom
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var mask = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let sourceY = min(max(y - top, 0), image.height - 1)
            for x in 0..<width {
                let sourceX = min(max(x - left, 0), image.width - 1)
                let target = (y * width + x) * 3, source = (sourceY * image.width + sourceX) * 3
                pixels[target] = image.pixels[source]
                pixels[target + 1] = image.pixels[source + 1]
                pixels[target + 2] = image.pixels[source + 2]
                let inside = x >= left && x < left + image.width && y >= top && y < top + image.height
                if !inside { mask[target] = 255; mask[target + 1] = 255; mask[target + 2] = 255 }
            }
        }
        // Sizes follow from a valid image and non-negative margins.
        return (try! RGBImage(width: width, height: height, pixels: pixels),
                try! RGBImage(width: width, height: height, pixels: mask))
    }
}
