/// 3×3 stride-1 convolution through Winograd F(4×4, 3×3) on NHWC tensors:
/// 2.25 multiply-adds per output and input channel instead of 9, which is
/// what takes a UNet step or a VAE decode under the direct-GEMM limit.
///
/// Work is cut two ways so every buffer stays a few MB, in cache, and is
/// recycled call after call instead of page-faulted in:
/// - tiles, a block at a time: a 512×512 VAE layer never holds its
///   2.25×-inflated input transform at once;
/// - output channels, a chunk at a time: the transformed kernels
///   (36 × Cin × Cout, 236 MB for 1280 channels) are made a chunk at a time
///   right before the GEMMs that read them. Wide layers have small images,
///   so then a single block holds every tile and no chunk is made twice;
///   with sdgen's kernels both operands come prepacked (`winogradInChunks`).
/// The 36 GEMMs of a block and chunk are independent; they run side by side,
/// one single-threaded product per worker, which beats splitting each small
/// GEMM in two.
extension CPUBackend {
    /// Transformed input plus products of one block of tiles, in bytes.
    static let winogradBlockBytes = 12 << 20
    /// Transformed input of all tiles, when kernels come in several chunks
    /// (OpenBLAS's path); with sdgen's kernels, the bound of a chunk's products.
    static let winogradChunkedBlockBytes = 16 << 20

    /// Tiles a convolution needs before Winograd beats direct products in f32:
    /// with fewer, the per-call kernel transform (36·Cin·Cout values) and
    /// products of a few dozen rows cost more than the 4× fewer multiply-adds
    /// save. `Microbench conv`, f16 weights, since wide layers take prepacked
    /// operands (`winogradInChunks`): 16×16×1280 at batch 2 (32 tiles, SD
    /// 1.5's third level) on Zen 4 direct 71–72 ms against Winograd's 40–41
    /// (2560 → 1280: 142–143 against 75–81; AVX2 kernels 81 against 48–78),
    /// on Zen 5, whose 512-bit FMAs run at full rate, level. 16 tiles (batch
    /// 1, or 12×12 at batch 2) lose: 38–39 ms against 63–66 on Zen 4.
    static let winogradMinimumTiles = 32
    /// The same where direct products run in bf16 at about twice the f32 rate
    /// (`bf16Pays`) while Winograd's stay f32, on cores whose 512-bit FMAs
    /// run at full rate (`CPUPeak.fullRate512`): there only large images
    /// repay it. Measured on Zen 5 (`SDGEN_PRECISION=bf16 Microbench conv`,
    /// f32 kernels, 2026-12-05): 32×32×640 at batch 2 (128 tiles) direct 16 ms
    /// against 17; 64×64×512 at batch 1 (256 tiles) even; 64×64×320 at batch
    /// 2 (512 tiles, the UNet's first level) Winograd 14 ms against 16–17
    /// alone, but the bf16 UNet step with f16 weights no faster from 512
    /// tiles (three interleaved pairs: 2.29/2.35/2.30 against 2.31/2.23/2.16
    /// s); 128×128×512 (1024 tiles) 72–75 against 87–88.
    static let winogradMinimumTilesAgainstBFloat16 = 1024
    /// The same where 512-bit FMAs run as two 256-bit halves (Zen 4): bf16
    /// direct products still run at twice the f32 rate, but that rate is half
    /// a full-rate core's at the same clock while Winograd's transforms, which
    /// run at cache speed, are not slower, so Winograd pays from smaller
    /// images. Zen 4 (2026-12-06, same tool): 32×32×640
    /// (128 tiles) direct 36–38 ms against Winograd's 25–27, 64×64×320 37–38
    /// against 30–34, 128×128×512 182–197 against 120–147; 16×16×1280 (32
    /// tiles) even; the bf16 UNet step 4.64/4.72/4.84 → 4.56/5.02/4.51 s
    /// (minima 4.57/4.71/4.76 → 4.45/4.36/4.36), interleaved.
    static let winogradMinimumTilesAgainstHalfRateBFloat16 = 128

    /// Whether this convolution goes through Winograd: automatically where it
    /// has enough tiles to beat direct products in this backend's precision.
    public func usesWinograd(_ g: ConvolutionGeometry) -> Bool {
        guard g.kernel == 3, g.stride == 1,
              g.inputChannels % vectorWidth == 0, g.outputChannels % vectorWidth == 0 else { return false }
        switch convolutionAlgorithm {
        case .direct: return false
        case .winograd: return true
        case .automatic:
            return WinogradTiling(g).tiles >= Self.automaticWinogradTiles(
                precision: precision, nativeBFloat16: hasNativeBFloat16, peak: CPUPeak.oneCore(kernels))
        }
    }

    /// The automatic choice's line, in tiles, for products in `precision` on
    /// a core with `peak`.
    public static func automaticWinogradTiles(precision: MatmulPrecision, nativeBFloat16: Bool,
                                              peak: CPUPeak) -> Int {
        guard precision == .bf16, nativeBFloat16, peak.bf16Pays else { return winogradMinimumTiles }
        return peak.fullRate512 ? winogradMinimumTilesAgainstBFloat16 : winogradMinimumTilesAgainstHalfRateBFloat16
    }

    func winogradConvolution(_ x: Tensor, weight: Tensor, bias: Tensor?, residual: UnsafePointer<Float>?,
                             geometry g: ConvolutionGeometry) -> Tensor {
        let tiling = WinogradTiling(g)
        let (cin, cout, perChannel) = (g.inputChannels, g.outputChannels, Winograd.points * 4)
        let fitting = tuning.winogradKernelChunkBytes / (perChannel * cin) / vectorWidth * vectorWidth
        let chunk = min(cout, max(vectorWidth, fitting))
        let (out, y) = makeTensor(g.outputShape)
        let input = x.floats, biases = bias?.floats
        if chunk < cout, let panels = panelShape {
            winogradInChunks(tiling, input: input, weight: weight, bias: biases, residual: residual, panels: panels,
                             into: y)
            return out
        }
        let blockTiles = chunk == cout
            ? max(16, min(tiling.tiles, Self.winogradBlockBytes / (perChannel * (cin + cout))))
            : max(16, min(tiling.tiles, Self.winogradChunkedBlockBytes / (perChannel * cin)))
        let (kernelTensor, kernels) = makeTensor([Winograd.points, chunk, cin])
        let (transformedTensor, transformed) = makeTensor([Winograd.points, blockTiles, cin])
        let (productTensor, products) = makeTensor([Winograd.points, blockTiles, chunk])

        var transformedChunk = -1
        for first in stride(from: 0, to: tiling.tiles, by: blockTiles) {
            let rows = min(blockTiles, tiling.tiles - first)
            transformInputs(tiling, input: input, tiles: first..<first + rows, into: transformed, blockTiles: blockTiles)
            for k0 in stride(from: 0, to: cout, by: chunk) {
                let width = min(chunk, cout - k0)
                if transformedChunk != k0 {
                    transformKernels(weight, geometry: g, outputs: k0..<k0 + width, into: kernels)
                    transformedChunk = k0
                }
                multiplyPoints(transformed, kernels, into: products, rows: rows, blockTiles: blockTiles,
                               inputs: cin, outputs: width)
                transformOutputs(tiling, products: products, tiles: first..<first + rows, blockTiles: blockTiles,
                                 outputs: k0..<k0 + width, bias: biases, residual: residual, into: y)
            }
        }
        withExtendedLifetime((kernelTensor, transformedTensor, productTensor)) {}
        return out
    }

    /// Wide layers, whose 36 transformed kernels (36·Cin·Cout f32: 236 MB at
    /// 1280 channels) are too large to make whole. Both operands of the
    /// point products come prepacked, made where the products read them:
    /// - the transformed tiles of a large block (all of a small image's) are
    ///   packed once as the GEMM's A panels and meet every chunk of outputs;
    /// - per chunk of outputs, the kernels' taps are gathered once, outputs
    ///   side by side, then transformed a row of six points at a time
    ///   straight into B panels a few MB large, right before their products.
    /// Transforming all 36 points of a 16 MB chunk to memory, packing it for
    /// the product and packing the tiles again for every chunk had 1280 →
    /// 1280 at 32×32 run its point products at ~250 GFLOP/s and spend as
    /// long again on kernels (`Microbench conv`, Zen 5: 540–665 GFLOP/s of
    /// direct work against 1026–1054 now).
    private func winogradInChunks(_ tiling: WinogradTiling, input: UnsafePointer<Float>, weight: Tensor,
                                  bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
                                  panels: (rows: Int, columns: Int),
                                  into y: UnsafeMutablePointer<Float>) {
        let g = tiling.geometry, (cin, cout, points) = (g.inputChannels, g.outputChannels, Winograd.points)
        func multiple(_ count: Int, of unit: Int, atMost bytes: Int, per: Int) -> Int {
            max(unit, min(count, bytes / per) / unit * unit)
        }
        // Tiles in whole panels of rows, outputs in whole panels of columns:
        // the gathered taps within the kernel chunk's bytes (9 of 36 values an
        // output and input channel) and the chunk's products within 16 MB.
        let blockTiles = multiple(tiling.tiles + panels.rows - 1, of: panels.rows,
                                  atMost: tuning.winogradPackedTileBytes, per: points * cin * 4)
        let stepTiles = multiple(blockTiles, of: panels.rows, atMost: tuning.winogradTransformStepBytes,
                                 per: points * cin * 4)
        let chunk = min(multiple(cout + panels.columns - 1, of: panels.columns,
                                 atMost: tuning.winogradKernelChunkBytes, per: 9 * cin * 4),
                        multiple(cout + panels.columns - 1, of: panels.columns,
                                 atMost: Self.winogradChunkedBlockBytes, per: points * blockTiles * 4))
        let (packedTensor, packed) = makeTensor([points, blockTiles, cin])
        let (transformedTensor, transformed) = makeTensor([points, stepTiles, cin])
        let (tapsTensor, taps) = makeTensor([9, cin, chunk])
        let (rowTensor, rowPanels) = makeTensor([Winograd.window, cin, chunk])
        let (productTensor, products) = makeTensor([points, blockTiles, chunk])
        for first in stride(from: 0, to: tiling.tiles, by: blockTiles) {
            let rows = min(blockTiles, tiling.tiles - first)
            // The block's tiles, transformed a few MB at a time and packed.
            for step in stride(from: 0, to: rows, by: stepTiles) {
                let count = min(stepTiles, rows - step)
                transformInputs(tiling, input: input, tiles: first + step..<first + step + count,
                                into: transformed, blockTiles: stepTiles)
                parallelFor(points, threads: threads) { range in
                    for p in range {
                        packAPanels(transformed + p * stepTiles * cin, lda: cin, m: count, k: cin,
                                    into: packed + (p * blockTiles + step) * cin)
                    }
                }
            }
            for k0 in stride(from: 0, to: cout, by: chunk) {
                let width = min(chunk, cout - k0)
                let padded = (width + panels.columns - 1) / panels.columns * panels.columns
                gatherTaps(weight, inputs: cin, outputs: k0..<k0 + width, stride: padded, panelColumns: panels.columns,
                           into: taps)
                for row in 0..<Winograd.window {
                    transformKernelRow(row, taps: taps, inputs: cin, stride: padded, panelColumns: panels.columns,
                                       into: rowPanels)
                    parallelFor(Winograd.window, threads: threads) { range in
                        for column in range {
                            let p = row * Winograd.window + column
                            f32GEMM(aPanels: packed + p * blockTiles * cin, bPanels: rowPanels + column * padded * cin,
                                    m: rows, n: width, k: cin, c: products + p * blockTiles * width, ldc: width)
                        }
                    }
                }
                transformOutputs(tiling, products: products, tiles: first..<first + rows, blockTiles: blockTiles,
                                 outputs: k0..<k0 + width, bias: bias, residual: residual, into: y)
            }
        }
        withExtendedLifetime((packedTensor, transformedTensor, tapsTensor, rowTensor, productTensor)) {}
    }

    /// The 3×3 taps of output channels `outputs`, widened to f32, in the B
    /// panels' order: per panel of `panelColumns` outputs, [9, Cin,
    /// panelColumns] — for each tap and input channel, the panel's outputs
    /// side by side (zero past the range), so the kernel transform runs its
    /// vectors along the outputs and reads a panel's taps as nine
    /// consecutive streams. Each vector's lanes read their own kernel, 9·Cin
    /// apart.
    private func gatherTaps(_ weight: Tensor, inputs cin: Int, outputs: Range<Int>, stride: Int, panelColumns: Int,
                            into taps: UnsafeMutablePointer<Float>) {
        let w = UnsafeRawPointer(weight.rawBytes), dtype = weight.dtype, kernelSize = 9 * cin
        parallelFor(stride / vectorWidth, threads: threads, minimumPerThread: 2) { range in
            for v in range {
                let k = v * vectorWidth
                let valid = k < outputs.count, first = (outputs.lowerBound + k) * kernelSize
                let panel = taps + k / panelColumns * 9 * cin * panelColumns + k % panelColumns
                for tap in 0..<9 {
                    for c in 0..<cin {
                        let vector = valid ? loadStrided(w, dtype, at: first + tap * cin + c, stride: kernelSize)
                                           : FloatVector()
                        storeVector(vector, panel + (tap * cin + c) * panelColumns)
                    }
                }
            }
        }
    }

    /// Row `row` of G g Gᵀ (its six points) for the gathered taps, as the
    /// product's B panels, point after point: per panel of `panelColumns`
    /// outputs, for each input channel, those outputs' values side by side.
    /// A panel at a time, so the stores run as six sequential streams (the
    /// panel's slice of each point) and its taps as nine: input channel
    /// outermost, the stores hopped between 66 places at once and ran at
    /// L3 speed.
    private func transformKernelRow(_ row: Int, taps: UnsafePointer<Float>, inputs cin: Int, stride: Int,
                                    panelColumns: Int, into panels: UnsafeMutablePointer<Float>) {
        let pointStride = cin * stride, panelSize = cin * panelColumns
        parallelFor(cin, threads: threads, minimumPerThread: 16) { range in
            let point = UnsafeMutablePointer<FloatVector>.allocate(capacity: Winograd.window)
            defer { point.deallocate() }
            for first in Swift.stride(from: 0, to: stride, by: panelColumns) {
                let source = taps + first / panelColumns * 9 * panelSize
                let target = panels + first * cin
                for c in range {
                    for k in Swift.stride(from: 0, to: panelColumns, by: vectorWidth) {
                        // Only this row of G·g (one point of each column's six), then across it.
                        let tap = { (t: Int) in loadVector(source + (t * cin + c) * panelColumns + k) }
                        Winograd.transformKernel(Winograd.kernelPoint(row, tap(0), tap(3), tap(6)),
                                                 Winograd.kernelPoint(row, tap(1), tap(4), tap(7)),
                                                 Winograd.kernelPoint(row, tap(2), tap(5), tap(8)),
                                                 into: point, stride: 1)
                        let at = target + c * panelColumns + k
                        for column in 0..<Winograd.window { storeVector(point[column], at + column * pointStride) }
                    }
                }
            }
        }
    }

    /// Bᵀ d B for the window of every tile in `tiles`, as [36, blockTiles, Cin].
    private func transformInputs(_ tiling: WinogradTiling, input: UnsafePointer<Float>, tiles: Range<Int>,
                                 into transformed: UnsafeMutablePointer<Float>, blockTiles: Int) {
        let cin = tiling.geometry.inputChannels
        parallelFor(tiles.count, threads: threads, minimumPerThread: 4) { range in
            let scratch = WinogradScratch(channels: cin)
            defer { scratch.deallocate() }
            for t in range {
                tiling.gatherWindow(tiles.lowerBound + t, input: input, zeros: scratch.zeros, into: scratch.sources)
                for c in stride(from: 0, to: cin, by: vectorWidth) {
                    for p in 0..<Winograd.points { scratch.window[p] = loadVector(scratch.sources[p] + c) }
                    for column in 0..<6 {
                        Winograd.transformInput(scratch.window + column, stride: 6, into: scratch.half + column, stride: 6)
                    }
                    for row in 0..<6 {
                        Winograd.transformInput(scratch.half + 6 * row, stride: 1, into: scratch.window + 6 * row, stride: 1)
                    }
                    for p in 0..<Winograd.points {
                        storeVector(scratch.window[p], transformed + (p * blockTiles + t) * cin + c)
                    }
                }
            }
        }
    }

    /// G g Gᵀ for output channels `outputs` and every input channel, as
    /// [36, outputs.count, Cin]: per point, the B operand of that point's GEMM.
    /// Kernels kept in f16/bf16 are widened as they are read.
    private func transformKernels(_ weight: Tensor, geometry g: ConvolutionGeometry, outputs: Range<Int>,
                                  into kernels: UnsafeMutablePointer<Float>) {
        let cin = g.inputChannels, width = outputs.count
        let w = UnsafeRawPointer(weight.rawBytes), dtype = weight.dtype
        parallelFor(width, threads: threads, minimumPerThread: 8) { range in
            let taps = UnsafeMutablePointer<FloatVector>.allocate(capacity: 9 + 18 + 36)
            defer { taps.deallocate() }
            let half = taps + 9, points = half + 18
            for k in range {
                let kernel = (outputs.lowerBound + k) * 9 * cin
                for c in stride(from: 0, to: cin, by: vectorWidth) {
                    for tap in 0..<9 { taps[tap] = loadWidened(w, dtype, at: kernel + tap * cin + c) }
                    for column in 0..<3 {
                        Winograd.transformKernel(taps[column], taps[3 + column], taps[6 + column],
                                                 into: half + column, stride: 3)
                    }
                    for row in 0..<6 {
                        Winograd.transformKernel(half[3 * row], half[3 * row + 1], half[3 * row + 2],
                                                 into: points + 6 * row, stride: 1)
                    }
                    for p in 0..<Winograd.points {
                        storeVector(points[p], kernels + (p * width + k) * cin + c)
                    }
                }
            }
        }
    }

    /// The 36 independent GEMMs: [tiles × Cin] · [Cin × outputs] per point.
    ///
    /// Always f32, whatever `precision` says: the output transform's
    /// coefficients (up to 8) amplify the operands' rounding, so bf16 here
    /// moved unit-scale outputs by 0.13 (25%) against PyTorch, where f32
    /// Winograd stays within 2e-5. Under bf16 precision the 3×3 convolutions
    /// thus keep f32 Winograd's speed and accuracy.
    private func multiplyPoints(_ transformed: UnsafePointer<Float>, _ transformedKernels: UnsafePointer<Float>,
                                into products: UnsafeMutablePointer<Float>, rows: Int, blockTiles: Int,
                                inputs cin: Int, outputs width: Int) {
        let workers = min(threads, Winograd.points)
        parallelFor(Winograd.points, threads: workers) { range in
            for p in range {
                f32GEMM(transB: true, m: rows, n: width, k: cin,
                        a: transformed + p * blockTiles * cin, lda: cin,
                        b: transformedKernels + p * width * cin, ldb: cin,
                        c: products + p * blockTiles * width, ldc: width)
            }
        }
    }

    /// Aᵀ M A plus bias (plus the residual, laid out as y) for output
    /// channels `outputs` of every tile in `tiles`, written where the tile
    /// lies inside the image.
    private func transformOutputs(_ tiling: WinogradTiling, products: UnsafePointer<Float>, tiles: Range<Int>,
                                  blockTiles: Int, outputs: Range<Int>, bias: UnsafePointer<Float>?,
                                  residual: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        let width = outputs.count
        parallelFor(tiles.count, threads: threads, minimumPerThread: 4) { range in
            let scratch = WinogradScratch(channels: tiling.geometry.outputChannels)
            defer { scratch.deallocate() }
            for t in range {
                tiling.scatterTile(tiles.lowerBound + t, output: y, discard: scratch.zeros, into: scratch.sources)
                if let residual {
                    // Past the image's edge a tile's outputs are discarded: any value will do there.
                    tiling.scatterTile(tiles.lowerBound + t, output: residual, discard: scratch.zeros,
                                       into: scratch.residuals)
                }
                for k in stride(from: 0, to: width, by: vectorWidth) {
                    for p in 0..<Winograd.points {
                        scratch.window[p] = loadVector(products + (p * blockTiles + t) * width + k)
                    }
                    for column in 0..<6 {
                        Winograd.transformOutput(scratch.window + column, stride: 6, into: scratch.half + column, stride: 6)
                    }
                    for row in 0..<4 {
                        Winograd.transformOutput(scratch.half + 6 * row, stride: 1, into: scratch.window + 4 * row, stride: 1)
                    }
                    let channel = outputs.lowerBound + k
                    let shift = bias.map { loadVector($0 + channel) } ?? FloatVector()
                    // Two loops, so the common store has no test in it.
                    if residual != nil {
                        for p in 0..<16 {
                            storeVector(scratch.window[p] + shift + loadVector(scratch.residuals[p] + channel),
                                        UnsafeMutablePointer(mutating: scratch.sources[p]) + channel)
                        }
                    } else {
                        for p in 0..<16 {
                            storeVector(scratch.window[p] + shift, UnsafeMutablePointer(mutating: scratch.sources[p]) + channel)
                        }
                    }
                }
            }
        }
    }
}

/// Where the 4×4 output tiles of a convolution fall, and which input pixels
/// each tile's 6×6 window reads.
struct WinogradTiling {
    let geometry: ConvolutionGeometry
    let tilesY, tilesX, tiles: Int

    init(_ g: ConvolutionGeometry) {
        geometry = g
        tilesY = (g.outputHeight + Winograd.tile - 1) / Winograd.tile
        tilesX = (g.outputWidth + Winograd.tile - 1) / Winograd.tile
        tiles = g.batch * tilesY * tilesX
    }

    @inline(__always)
    private func origin(_ tile: Int) -> (image: Int, y: Int, x: Int) {
        let perImage = tilesY * tilesX, within = tile % perImage
        return (tile / perImage, within / tilesX * Winograd.tile, within % tilesX * Winograd.tile)
    }

    /// The 36 input rows of channels a tile's window reads; outside the image
    /// (the padding) they point at `zeros`.
    @inline(__always)
    func gatherWindow(_ tile: Int, input: UnsafePointer<Float>, zeros: UnsafePointer<Float>,
                      into sources: UnsafeMutablePointer<UnsafePointer<Float>>) {
        let g = geometry, (n, oy, ox) = origin(tile)
        for i in 0..<Winograd.window {
            let iy = oy - g.padding.top + i
            for j in 0..<Winograd.window {
                let ix = ox - g.padding.left + j
                let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
                sources[i * Winograd.window + j] =
                    inside ? input + ((n * g.height + iy) * g.width + ix) * g.inputChannels : zeros
            }
        }
    }

    /// The 16 rows of channels under a tile of `output` (the convolution's
    /// result, or a tensor laid out as it); those past the image's edge go
    /// to `discard`.
    @inline(__always)
    func scatterTile(_ tile: Int, output: UnsafePointer<Float>, discard: UnsafePointer<Float>,
                     into destinations: UnsafeMutablePointer<UnsafePointer<Float>>) {
        let g = geometry, (n, oy, ox) = origin(tile)
        for a in 0..<Winograd.tile {
            for b in 0..<Winograd.tile {
                let inside = oy + a < g.outputHeight && ox + b < g.outputWidth
                destinations[a * Winograd.tile + b] =
                    inside ? output + ((n * g.outputHeight + oy + a) * g.outputWidth + ox + b) * g.outputChannels : discard
            }
        }
    }
}

/// One worker's buffers for the input and output transforms.
private struct WinogradScratch {
    /// 36 channel-row pointers of the current window or tile.
    let sources: UnsafeMutablePointer<UnsafePointer<Float>>
    /// The residual's 16 channel rows under the current output tile.
    let residuals: UnsafeMutablePointer<UnsafePointer<Float>>
    /// A window of vectors, and the window after the column pass.
    let window, half: UnsafeMutablePointer<FloatVector>
    /// Zero padding to read, and a sink for outputs past the image's edge.
    let zeros: UnsafeMutablePointer<Float>

    init(channels: Int) {
        sources = .allocate(capacity: Winograd.points)
        residuals = .allocate(capacity: Winograd.tile * Winograd.tile)
        window = .allocate(capacity: 2 * Winograd.points)
        half = window + Winograd.points
        zeros = .allocate(capacity: channels)
        zeros.initialize(repeating: 0, count: channels)
    }

    func deallocate() {
        sources.deallocate()
        residuals.deallocate()
        window.deallocate()
        zeros.deallocate()
    }
}
