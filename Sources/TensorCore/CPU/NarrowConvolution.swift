/// Convolutions with a few output channels — a VAE decoder's 3 RGB outputs, a
/// UNet's 4 latent channels, a VAE encoder's 8 moments — as dot products along
/// the input channels of each output pixel, without im2col.
///
/// As a GEMM, 3 output channels fill 3 of a register tile's 32 columns while
/// the im2col copy is as large as for any layer (1.2 GB for the VAE decoder's
/// last 128 → 3 convolution at 512²): that layer took 90–180 ms on Zen 5,
/// 10–20 GFLOP/s. Here each pixel reads its window once and the kernel (a few
/// KB, widened to f32 once per call) stays in L1. The sums are f32 whatever
/// the matmul precision: under bf16 these layers are too small to gain from
/// rounding, and they write the pixels or latents themselves.
extension CPUBackend {
    /// Output channels up to which a convolution takes this path.
    static let narrowConvolutionOutputs = 8
    /// Output channels computed together: one accumulator each, in registers.
    private static let outputGroup = 4

    func isNarrowConvolution(_ g: ConvolutionGeometry) -> Bool {
        g.outputChannels <= Self.narrowConvolutionOutputs && !g.isPointwise
    }

    func narrowConvolution(_ x: Tensor, weight: Tensor, bias: Tensor?, residual: UnsafePointer<Float>?,
                           geometry g: ConvolutionGeometry) -> Tensor {
        let (cin, cout, patch, kernel) = (g.inputChannels, g.outputChannels, g.patch, g.kernel)
        let (height, width, outH, outW) = (g.height, g.width, g.outputHeight, g.outputWidth)
        let (step, top, left) = (g.stride, g.padding.top, g.padding.left)
        // The kernel widened to f32, output channels padded with zeros to whole groups.
        let group = Self.outputGroup
        let groups = (cout + group - 1) / group
        let (kernelTensor, w) = makeTensor([groups * group * patch])
        convertElements(from: weight.rawBytes, weight.dtype, to: w, .f32, count: cout * patch)
        (w + cout * patch).update(repeating: 0, count: (groups * group - cout) * patch)
        let (out, y) = makeTensor(g.outputShape)
        let input = x.floats, biases = bias?.floats
        let vectorEnd = cin / vectorWidth * vectorWidth

        parallelFor(g.outputPixels, threads: threads, minimumPerThread: 64) { pixels in
            for p in pixels {
                let n = p / (outH * outW), oy = (p / outW) % outH, ox = p % outW
                for first in stride(from: 0, to: cout, by: group) {
                    let w0 = w + first * patch, w1 = w0 + patch, w2 = w1 + patch, w3 = w2 + patch
                    var a0 = FloatVector(), a1 = FloatVector(), a2 = FloatVector(), a3 = FloatVector()
                    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                    for ky in 0..<kernel {
                        let iy = oy * step - top + ky
                        guard iy >= 0 && iy < height else { continue }
                        for kx in 0..<kernel {
                            let ix = ox * step - left + kx
                            guard ix >= 0 && ix < width else { continue }
                            let source = input + ((n * height + iy) * width + ix) * cin
                            let tap = (ky * kernel + kx) * cin
                            var c = 0
                            while c < vectorEnd {
                                let v = loadVector(source + c)
                                a0 = a0.addingProduct(v, loadVector(w0 + tap + c))
                                a1 = a1.addingProduct(v, loadVector(w1 + tap + c))
                                a2 = a2.addingProduct(v, loadVector(w2 + tap + c))
                                a3 = a3.addingProduct(v, loadVector(w3 + tap + c))
                                c += vectorWidth
                            }
                            while c < cin {
                                let v = source[c]
                                s0 += v * w0[tap + c]; s1 += v * w1[tap + c]
                                s2 += v * w2[tap + c]; s3 += v * w3[tap + c]
                                c += 1
                            }
                        }
                    }
                    let sums = SIMD4<Float>(a0.sum() + s0, a1.sum() + s1, a2.sum() + s2, a3.sum() + s3)
                    for o in 0..<min(group, cout - first) {
                        let i = p * cout + first + o
                        let value = sums[o] + (biases?[first + o] ?? 0)
                        y[i] = residual.map { value + $0[i] } ?? value
                    }
                }
            }
        }
        withExtendedLifetime(kernelTensor) {}
        return out
    }
}
