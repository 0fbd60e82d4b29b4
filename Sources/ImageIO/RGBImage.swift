/// An 8-bit RGB image: rows top to bottom, three bytes a pixel — what the
/// VAE's output becomes and what a PNG stores.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes, row-major, R G B.
    public let pixels: [UInt8]

    /// How the VAE output's floats are ordered (one image, three channels).
    public enum FloatLayout: Sendable {
        /// `[H, W, 3]`: channels interleaved, as the NHWC code path produces.
        case nhwc
        /// `[3, H, W]`: one plane per channel, as diffusers' NCHW tensors are.
        case nchw
    }

    public init(width: Int, height: Int, pixels: [UInt8]) throws(ImageIOError) {
        let count = try Self.byteCount(width: width, height: height)
        guard pixels.count == count else {
            throw .invalidImage(reason: "\(width)x\(height) RGB needs \(count) bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Converts the VAE decoder's output (values in about [-1, 1]) the way
    /// diffusers does: `(x / 2 + 0.5).clamp(0, 1)` in float32, then numpy's
    /// `(v * 255).round().astype("uint8")`, so the same latents give the same
    /// bytes as a diffusers run.
    public init(vaeOutput: [Float], width: Int, height: Int, layout: FloatLayout) throws(ImageIOError) {
        let count = try Self.byteCount(width: width, height: height)
        guard vaeOutput.count == count else {
            throw .invalidImage(reason: "\(width)x\(height)x3 needs \(count) floats, got \(vaeOutput.count)")
        }
        let planeSize = width * height
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { bytes, initialized in
            vaeOutput.withUnsafeBufferPointer { source in
                switch layout {
                case .nhwc:
                    for i in 0..<count { bytes[i] = Self.byte(fromVAEValue: source[i]) }
                case .nchw:
                    for p in 0..<planeSize {
                        bytes[3 * p] = Self.byte(fromVAEValue: source[p])
                        bytes[3 * p + 1] = Self.byte(fromVAEValue: source[planeSize + p])
                        bytes[3 * p + 2] = Self.byte(fromVAEValue: source[2 * planeSize + p])
                    }
                }
            }
            initialized = count
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// One channel value from the VAE's [-1, 1] range to a byte, bit for bit
    /// as diffusers computes it: every step in float32, and numpy's `round`,
    /// which rounds halves to even (0 → 127.5 → 128, not 127).
    @inlinable
    public static func byte(fromVAEValue x: Float) -> UInt8 {
        // NaN would survive the clamp in torch and become an undefined byte in
        // numpy; here it becomes black instead of a trap in UInt8(_:).
        guard !x.isNaN else { return 0 }
        let unit = Swift.min(Swift.max(x / 2 + 0.5, 0), 1)
        return UInt8((unit * 255).rounded(.toNearestOrEven))
    }

    /// The pixel at column `x`, row `y`; nil outside the image.
    public func pixel(x: Int, y: Int) -> (red: UInt8, green: UInt8, blue: UInt8)? {
        guard (0..<width).contains(x), (0..<height).contains(y) else { return nil }
        let offset = (y * width + x) * 3
        return (pixels[offset], pixels[offset + 1], pixels[offset + 2])
    }

    private static func byteCount(width: Int, height: Int) throws(ImageIOError) -> Int {
        // PNG stores sizes as 31-bit numbers; libpng's default limit is far lower still.
        guard width > 0, height > 0 else {
            throw .invalidImage(reason: "size \(width)x\(height) is not positive")
        }
        guard width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw .invalidImage(reason: "size \(width)x\(height) is too large")
        }
        let (area, overflow1) = width.multipliedReportingOverflow(by: height)
        let (count, overflow2) = area.multipliedReportingOverflow(by: 3)
        guard !overflow1, !overflow2 else {
            throw .invalidImage(reason: "size \(width)x\(height) is too large")
        }
        return count
    }
}
