/// Convolution as im2col + GEMM on NHWC activations.
///
/// NHWC makes each im2col row a run of whole-channel copies, and a 1×1
/// convolution is a plain GEMM with no copy at all. The patch matrix is built
/// a block of output pixels at a time so it stays a few MB however large the
/// image (a 512×512 VAE layer would otherwise need a >1 GB buffer).
extension CPUBackend {
    /// Output pixels per im2col block: large enough for GEMM efficiency,
    /// small enough that the patch block stays around L2/L3 size.
    static let convBlockBytes = 8 << 20

    public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: ConvPadding,
                       residual: Tensor?) -> Tensor {
        let g = ConvolutionGeometry(input: x.shape, weight: weight.shape, stride: stride, padding: padding)
        let label = "conv \(weight.shape[1])×\(weight.shape[2]) \(x.dim(-1))→\(weight.shape[0]) at \(x.shape[1])×\(x.shape[2])"
            + (stride > 1 ? " stride \(stride)" : "") + (residual == nil ? "" : " + residual")
        return timed(.convolutions, label, flops: g.flops) {
            let (batch, height, width, cin) = (g.batch, g.height, g.width, g.inputChannels)
            let (cout, kernel, outH, outW) = (g.outputChannels, g.kernel, g.outputHeight, g.outputWidth)
            // Every path below reads `cout` biases and a residual laid out as the output.
            g.check(bias: bias?.shape, residual: residual?.shape)

            if g.isPointwise {
                return linear(x, weight: weight.reshaped([cout, cin]), bias: bias, activation: nil, residual: residual)
            }
            let added = residual?.floats
            if usesWinograd(g) {
                return winogradConvolution(x, weight: weight, bias: bias, residual: added, geometry: g)
            }
            if isNarrowConvolution(g) {
                return narrowConvolution(x, weight: weight, bias: bias, residual: added, geometry: g)
            }
            if usesImplicitPatches(g) {
                return implicitConvolution(x, weight: weight, bias: bias, residual: added, geometry: g)
            }

            let (out, c) = makeTensor([batch, outH, outW, cout])
            let (patch, pixels) = (g.patch, g.outputPixels)
            let blockPixels = max(64, min(pixels, Self.convBlockBytes / (patch * 4)))
            let (colTensor, col) = makeTensor([blockPixels, patch])
            let input = x.floats, biases = bias?.floats
            var start = 0
            while start < pixels {
                let rows = min(blockPixels, pixels - start)
                parallelFor(rows, threads: threads, minimumPerThread: 16) { range in
                    for r in range {
                        let p = start + r
                        let n = p / (outH * outW), oy = (p / outW) % outH, ox = p % outW
                        var dst = col + r * patch
                        for ky in 0..<kernel {
                            let iy = oy * stride - padding.top + ky
                            for kx in 0..<kernel {
                                let ix = ox * stride - padding.left + kx
                                if iy >= 0 && iy < height && ix >= 0 && ix < width {
                                    dst.update(from: input + ((n * height + iy) * width + ix) * cin, count: cin)
                                } else {
                                    dst.update(repeating: 0, count: cin)
                                }
                                dst += cin
                            }
                        }
                    }
                }
                withGEMMWeightRows(weight, rowLength: patch) { w, dtype, outputs in
                    let first = start * cout + outputs.lowerBound
                    gemm(transB: true, m: rows, n: outputs.count, k: patch, a: col, lda: patch, b: w, bType: dtype, ldb: patch,
                         bias: biases.map { $0 + outputs.lowerBound }, c: c + first, ldc: cout,
                         epilogue: ProductEpilogue(residual: added.map { $0 + first }))
                }
                start += rows
            }
            withExtendedLifetime(colTensor) {}
            return out
        }
    }
}
