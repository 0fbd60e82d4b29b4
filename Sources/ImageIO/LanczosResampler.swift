import Foundation

/// Pillow's `Image.resize(size, Image.LANCZOS)` (or `BICUBIC`, Pillow's
/// default) for 8-bit images, exactly: a separable filter whose support widens with the reduction
/// factor (antialiasing), coefficients normalised and turned into 22-bit
/// fixed point, a horizontal pass into an 8-bit image, then a vertical one
/// (Pillow's `ImagingResample`, `precompute_coeffs`, `normalize_coeffs_8bpc`,
/// `clip8`). diffusers resizes every input image and mask this way, so the
/// same file gives the same pixels here.
public enum LanczosResampler {
    private static let precisionBits = 32 - 8 - 2

    /// Pillow's filters: Lanczos-3 and Keys' cubic with a = −0.5.
    public enum Filter: Sendable {
        case lanczos, bicubic

        var support: Double { self == .lanczos ? 3 : 2 }

        func callAsFunction(_ x: Double) -> Double {
            switch self {
            case .lanczos:
                guard -3 <= x, x < 3 else { return 0 }
                return LanczosResampler.sinc(x) * LanczosResampler.sinc(x / 3)
            case .bicubic:
                let a = -0.5, t = abs(x)
                if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
                if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
                return 0
            }
        }
    }

    /// The region of the source that is resized: Pillow's `box` (x0, y0, x1, y1), fractional allowed.
    public struct Box: Sendable, Equatable {
        public var x0, y0, x1, y1: Double
        public init(x0: Double, y0: Double, x1: Double, y1: Double) {
            (self.x0, self.y0, self.x1, self.y1) = (x0, y0, x1, y1)
        }
    }

    /// `pixels` ([height][width][channels]) resized to `newWidth` × `newHeight`
    /// (the region `box` of it, default all).
    public static func resize(_ pixels: [UInt8], width: Int, height: Int, channels: Int,
                              to newWidth: Int, _ newHeight: Int, box: Box? = nil, filter: Filter = .lanczos) -> [UInt8] {
        let box = box ?? Box(x0: 0, y0: 0, x1: Double(width), y1: Double(height))
        // Pillow's need_horizontal / need_vertical.
        let horizontalPass = newWidth != width || box.x0 != 0 || box.x1 != Double(newWidth)
        let verticalPass = newHeight != height || box.y0 != 0 || box.y1 != Double(newHeight)
        var image = pixels, currentWidth = width
        if horizontalPass {
            image = horizontal(image, width: width, height: height, channels: channels, to: newWidth,
                               from: box.x0, to: box.x1, filter: filter)
            currentWidth = newWidth
        }
        if verticalPass {
            image = vertical(image, width: currentWidth, height: height, channels: channels, to: newHeight,
                             from: box.y0, to: box.y1, filter: filter)
        }
        return image
    }

    /// For each output index: the first input index, and fixed-point weights of the inputs from there.
    private static func coefficients(inputSize: Int, from start: Double, to end: Double, outputSize: Int,
                                     filter: Filter) -> [(first: Int, weights: [Int32])] {
        let scale = (end - start) / Double(outputSize)
        let filterScale = max(scale, 1)
        let reach = filter.support * filterScale
        let inverse = 1 / filterScale
        return (0..<outputSize).map { index in
            let center = start + (Double(index) + 0.5) * scale
            let first = max(Int(center - reach + 0.5), 0)
            let last = min(Int(center + reach + 0.5), inputSize)
            var weights = first < last ? (first..<last).map { filter((Double($0) - center + 0.5) * inverse) } : []
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            let one = Double(1 << precisionBits)
            return (first, weights.map { Int32($0 < 0 ? -0.5 + $0 * one : 0.5 + $0 * one) })
        }
    }

    fileprivate static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let scaled = x * Double.pi
        return sin(scaled) / scaled
    }

    @inline(__always)
    private static func clip8(_ value: Int32) -> UInt8 {
        if value >= (Int32(1) << precisionBits) << 8 { return 255 }
        if value <= 0 { return 0 }
        return UInt8(value >> precisionBits)
    }

    private static func horizontal(_ input: [UInt8], width: Int, height: Int, channels: Int, to newWidth: Int,
                                   from start: Double, to end: Double, filter: Filter) -> [UInt8] {
        let table = coefficients(inputSize: width, from: start, to: end, outputSize: newWidth, filter: filter)
        var output = [UInt8](repeating: 0, count: newWidth * height * channels)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for y in 0..<height {
                    let row = y * width * channels
                    for (x, entry) in table.enumerated() {
                        for c in 0..<channels {
                            var sum = Int32(1) << (precisionBits - 1)
                            for (k, weight) in entry.weights.enumerated() {
                                sum &+= Int32(source[row + (entry.first + k) * channels + c]) &* weight
                            }
                            target[(y * newWidth + x) * channels + c] = clip8(sum)
                        }
                    }
                }
            }
        }
        return output
    }

    private static func vertical(_ input: [UInt8], width: Int, height: Int, channels: Int, to newHeight: Int,
                                 from start: Double, to end: Double, filter: Filter) -> [UInt8] {
        let table = coefficients(inputSize: height, from: start, to: end, outputSize: newHeight, filter: filter)
        let rowLength = width * channels
        var output = [UInt8](repeating: 0, count: rowLength * newHeight)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for (y, entry) in table.enumerated() {
                    for i in 0..<rowLength {
                        var sum = Int32(1) << (precisionBits - 1)
                        for (k, weight) in entry.weights.enumerated() {
                            sum &+= Int32(source[(entry.first + k) * rowLength + i]) &* weight
                        }
                        target[y * rowLength + i] = clip8(sum)
                    }
                }
            }
        }
        return output
    }
}
