/// What an SDXL-style UNet is told about the image's geometry (its
/// "micro-conditioning", diffusers' `add_time_ids`): the size the training
/// image had, where it was cropped, and the size asked for. Defaults, as
/// diffusers': original and target the output size, no crop — which tells
/// the model "a whole, uncropped image this size".
public struct SizeConditioning: Sendable, Equatable {
    public var original: PixelSize
    /// The crop's top-left corner (x: left, y: top).
    public var crop: PixelPoint
    public var target: PixelSize

    public init(original: PixelSize, crop: PixelPoint = PixelPoint(x: 0, y: 0), target: PixelSize) {
        self.original = original
        self.crop = crop
        self.target = target
    }

    /// diffusers' order: (original height, width, crop top, left, target height, width).
    public var numbers: [Float] {
        [original.height, original.width, crop.y, crop.x, target.height, target.width].map(Float.init)
    }
}

/// A width and height in pixels, written `WxH` on the command line.
public struct PixelSize: Sendable, Equatable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        (self.width, self.height) = (width, height)
    }

    /// `1024x768` (or `1024,768`).
    public init?(argument: String) {
        let parts = argument.lowercased().split(whereSeparator: { $0 == "x" || $0 == "," }).map { Int($0) }
        guard parts.count == 2, let width = parts[0], let height = parts[1] else { return nil }
        self.init(width: width, height: height)
    }

    public var description: String { "\(width)x\(height)" }
}

/// A point in pixels, written `X,Y` on the command line.
public struct PixelPoint: Sendable, Equatable, CustomStringConvertible {
    public var x: Int
    public var y: Int

    public init(x: Int, y: Int) {
        (self.x, self.y) = (x, y)
    }

    public init?(argument: String) {
        let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let x = parts[0], let y = parts[1] else { return nil }
        self.init(x: x, y: y)
    }

    public var description: String { "\(x),\(y)" }
}
