import Foundation
import ImageIO

/// One finished image: its pixels, the parameters that made it (A1111's
/// infotext, stored in its PNG), and where its time went. `pngData()` and
/// `writePNG(to:)` give the same bytes, so an answer over HTTP equals the
/// file the CLI writes.
public struct GeneratedImage: Sendable {
    /// Which image of the request, and its seed.
    public let index: Int
    public let seed: UInt64
    public let image: RGBImage
    /// The VAE's output, about [-1, 1], [height][width][3] row-major.
    public let vaeOutput: [Float]
    public let parameters: GenerationParameters
    public let timings: GenerationTimings
    /// Prompt tokens cut off at the text encoder's length (prompt, negative prompt).
    public let truncatedTokens: (prompt: Int, negative: Int)
    /// What the user should hear, e.g. which words were dropped.
    public let warnings: [String]

    /// RGB in [0, 1] before rounding to bytes: diffusers' output_type="np".
    public var pixels: [Float] { vaeOutput.map { min(max($0 / 2 + 0.5, 0), 1) } }

    /// The PNG file's bytes, parameters in A1111's `parameters` text chunk.
    public func pngData() throws -> [UInt8] {
        try PNGFile.encode(image, textChunks: [(PNGFile.parametersKey, parameters.a1111Text)])
    }

    /// Writes the PNG atomically (complete or not at all).
    public func writePNG(to url: URL, overwrite: Bool = true) throws {
        try PNGFile.write(pngData(), to: url, overwrite: overwrite)
    }
}

/// Where the time of one image went, for the summary line and --json.
public struct GenerationTimings: Sendable, Codable, Equatable {
    public var tokenizeMilliseconds: Double = 0
    public var textEncoderMilliseconds: Double = 0
    /// Seconds per model evaluation.
    public var unetSeconds: [Double] = []
    public var vaeDecodeSeconds: Double = 0
    public var totalSeconds: Double = 0

    public init() {}

    public var unetMeanSeconds: Double { unetSeconds.isEmpty ? 0 : unetSeconds.reduce(0, +) / Double(unetSeconds.count) }
    public var unetMinimumSeconds: Double { unetSeconds.min() ?? 0 }
}
