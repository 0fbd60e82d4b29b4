import Models

/// `--vae-tiling`: whether the VAE decodes the latents whole or in tiles.
public enum VAETiling: String, Sendable, CaseIterable, Codable {
    /// Tiles images of a megapixel or more (`TiledVAEDecoding.autoPixels`: 1024×1024, four of SD's 512
    /// tiles), where a whole decode's working set reaches gigabytes; smaller images decode whole, exactly
    /// as diffusers' default.
    case auto
    /// Tiles whenever the latents span more than one tile (diffusers' `vae.enable_tiling()`).
    case on
    /// Always whole.
    case off
}

/// diffusers' `AutoencoderKL.tiled_decode`: overlapping latent tiles of the
/// VAE's training size decoded one at a time, each blended into its upper
/// and left neighbours over a quarter of a tile with linear ramps, then cut
/// to the stride. Memory is one tile's working set (and the image) whatever
/// the size; seams are what the blend leaves. Reproduced step for step,
/// including that neighbours are blended in place, in row-major order, so
/// a tile meets its neighbours as already blended.
public struct TiledVAEDecoding: Sendable, Equatable {
    /// Tile side in pixels (the VAE's `sample_size`) and in latents.
    public let tileSample: Int
    public let tileLatent: Int
    public let overlapFactor: Double
    /// The image area from which `auto` tiles.
    public static let autoPixels = 1024 * 1024

    public init(tileSample: Int, tileLatent: Int, overlapFactor: Double = 0.25) {
        self.tileSample = tileSample
        self.tileLatent = tileLatent
        self.overlapFactor = overlapFactor
    }

    /// diffusers' tiles for a VAE: its sample size, over its scale factor.
    public init(configuration: VAEConfiguration) {
        self.init(tileSample: configuration.sampleSize, tileLatent: configuration.sampleSize / configuration.scaleFactor)
    }

    /// Whether latents of this shape span more than one tile (diffusers decodes whole otherwise).
    public func spansTiles(_ shape: LatentShape) -> Bool { shape.height > tileLatent || shape.width > tileLatent }

    /// Whether `mode` tiles an image of this latent shape.
    public func applies(_ mode: VAETiling, to shape: LatentShape, scale: Int) -> Bool {
        switch mode {
        case .off: false
        case .on: spansTiles(shape)
        case .auto: spansTiles(shape) && shape.height * shape.width * scale * scale >= Self.autoPixels
        }
    }

    /// The largest latent window one tile decodes, for memory estimates.
    public func tileShape(for shape: LatentShape) -> LatentShape {
        LatentShape(channels: shape.channels, height: min(shape.height, tileLatent), width: min(shape.width, tileLatent))
    }

    /// One decoded tile: `height` × `width` pixels of `channels` values (NHWC, batch 1).
    struct Tile {
        var height: Int
        var width: Int
        var values: [Float]
    }

    /// The decoded image, [height·scale][width·scale][channels] row-major.
    /// - Parameter decodeTile: decodes an NCHW latent window of the given shape to NHWC pixels.
    public func decode(_ latents: [Float], shape: LatentShape, scale: Int, channels: Int,
                       decodeTile: ([Float], LatentShape) -> [Float]) -> [Float] {
        let stride = Int(Double(tileLatent) * (1 - overlapFactor))
        let blendExtent = Int(Double(tileSample) * overlapFactor)
        let rowLimit = tileSample - blendExtent
        let outputWidth = shape.width * scale, outputHeight = shape.height * scale
        var output = [Float](repeating: 0, count: outputHeight * outputWidth * channels)

        var above: [Tile] = []
        var outputRow = 0
        for top in Swift.stride(from: 0, to: shape.height, by: stride) {
            var row: [Tile] = []
            for left in Swift.stride(from: 0, to: shape.width, by: stride) {
                let window = LatentShape(channels: shape.channels, height: min(tileLatent, shape.height - top),
                                         width: min(tileLatent, shape.width - left))
                let pixels = decodeTile(Self.crop(latents, shape: shape, top: top, left: left, to: window), window)
                row.append(Tile(height: window.height * scale, width: window.width * scale, values: pixels))
            }
            var outputColumn = 0, rowHeight = 0
            for j in row.indices {
                if !above.isEmpty { Self.blendVertically(from: above[j], into: &row[j], extent: blendExtent, channels: channels) }
                if j > 0 { Self.blendHorizontally(from: row[j - 1], into: &row[j], extent: blendExtent, channels: channels) }
                // The tile cut to the stride, row by row into the image (diffusers' torch.cat of the cuts).
                // The cut is never shorter than the stride (⌊¾L⌋·s ≤ Ls − ⌊¼Ls⌋); where truncation makes it
                // longer, the image's edge cuts it.
                let keptHeight = min(row[j].height, rowLimit), keptWidth = min(row[j].width, rowLimit)
                let tileRow = row[j].width * channels
                let count = max(0, min(keptWidth, outputWidth - outputColumn)) * channels
                let rows = max(0, min(keptHeight, outputHeight - outputRow))
                output.withUnsafeMutableBufferPointer { out in
                    row[j].values.withUnsafeBufferPointer { tile in
                        for y in 0..<rows where count > 0 {
                            let destination = ((outputRow + y) * outputWidth + outputColumn) * channels
                            _ = UnsafeMutableBufferPointer(rebasing: out[destination..<(destination + count)])
                                .update(fromContentsOf: tile[(y * tileRow)..<(y * tileRow + count)])
                        }
                    }
                }
                outputColumn += keptWidth
                rowHeight = keptHeight
            }
            outputRow += rowHeight
            above = row
        }
        return output
    }

    /// The NCHW window of `shape`'s latents at (top, left) of `window`'s size.
    static func crop(_ latents: [Float], shape: LatentShape, top: Int, left: Int, to window: LatentShape) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(window.count)
        for c in 0..<shape.channels {
            for y in top..<(top + window.height) {
                let start = (c * shape.height + y) * shape.width + left
                out.append(contentsOf: latents[start..<(start + window.width)])
            }
        }
        return out
    }

    /// diffusers' `blend_v`: the first rows of `tile` fade in from the last rows of the tile above,
    /// b[y] = a[H − e + y]·(1 − y/e) + b[y]·(y/e), in float32 with the ratios rounded to float32 as torch does.
    static func blendVertically(from above: Tile, into tile: inout Tile, extent: Int, channels: Int) {
        let e = min(above.height, tile.height, extent)
        // Tiles of one column have the same width.
        let rowCount = tile.width * channels
        above.values.withUnsafeBufferPointer { a in
            tile.values.withUnsafeMutableBufferPointer { b in
                for y in 0..<e {
                    let (keep, fade) = ratios(y, e)
                    let source = (above.height - e + y) * rowCount, destination = y * rowCount
                    for k in 0..<rowCount { b[destination + k] = a[source + k] * keep + b[destination + k] * fade }
                }
            }
        }
    }

    /// diffusers' `blend_h`: the first columns fade in from the last columns of the tile to the left.
    static func blendHorizontally(from left: Tile, into tile: inout Tile, extent: Int, channels: Int) {
        let e = min(left.width, tile.width, extent)
        // Tiles of one row have the same height.
        let weights = (0..<e).map { ratios($0, e) }
        left.values.withUnsafeBufferPointer { a in
            tile.values.withUnsafeMutableBufferPointer { b in
                for y in 0..<tile.height {
                    for x in 0..<e {
                        let (keep, fade) = weights[x]
                        let source = (y * left.width + left.width - e + x) * channels, destination = (y * tile.width + x) * channels
                        for c in 0..<channels { b[destination + c] = a[source + c] * keep + b[destination + c] * fade }
                    }
                }
            }
        }
    }

    /// (1 − i/e, i/e): Python doubles, which torch rounds to float32 to scale a float32 tensor.
    private static func ratios(_ i: Int, _ e: Int) -> (Float, Float) {
        let fraction = Double(i) / Double(e)
        return (Float(1 - fraction), Float(fraction))
    }
}
