import CPUKernels

/// Direct convolutions as one product over the implicit patch matrix: sdgen's
/// AVX2 and AVX-512 kernels pack each panel of A straight from the NHWC input, tap by
/// tap, where the im2col path first copies the patches out a block of pixels
/// at a time (8 MB blocks) and runs one product per block. That copy was a
/// pass over 9× the input, and every block packed the whole weight again:
/// SD 1.5's 1280-channel convolutions at 16×16 ran in 3 blocks of 182 pixels,
/// the 2560-channel ones in 6.
extension CPUBackend {
    /// Whether `conv2d` takes the implicit product: sdgen's own GEMM in the
    /// backend's precision (native bf16 only: the emulation rounds copies), weights read as stored,
    /// and input channels a multiple of 32 so no packed run of k crosses taps.
    public func usesImplicitPatches(_ g: ConvolutionGeometry) -> Bool {
        guard g.inputChannels % 32 == 0, packsStoredWeights else { return false }
        return bf16Products ? hasNativeBFloat16 : kernels >= .avx2
    }

    func implicitConvolution(_ x: Tensor, weight: Tensor, bias: Tensor?, residual: UnsafePointer<Float>?,
                             geometry g: ConvolutionGeometry) -> Tensor {
        let (out, c) = makeTensor(g.outputShape)
        let (pixels, n, patch) = (g.outputPixels, g.outputChannels, g.patch)
        let input = sdgen_conv_input(input: x.floats, height: Int32(g.height), width: Int32(g.width),
                                     channels: Int32(g.inputChannels), outputHeight: Int32(g.outputHeight),
                                     outputWidth: Int32(g.outputWidth), kernel: Int32(g.kernel),
                                     stride: Int32(g.stride), padTop: Int32(g.padding.top),
                                     padLeft: Int32(g.padding.left))
        let product = precision == .bf16 ? sdgen_bf16_conv_gemm
            : kernels >= .avx512 ? sdgen_f32_conv_gemm : sdgen_f32_conv_gemm_avx2
        let w = weight.rawBytes, wType = weight.dtype.gemmType, rowBytes = patch * weight.dtype.byteSize
        let biases = bias?.floats
        withUnsafePointer(to: input) { input in
            splitProduct(m: pixels, n: n, k: patch) { rows, columns in
                let first = rows.lowerBound * n + columns.lowerBound
                product(input, rows.lowerBound, rows.count, columns.count,
                        w + columns.lowerBound * rowBytes, wType, patch, biases.map { $0 + columns.lowerBound },
                        c + first, n)
                finish(ProductEpilogue(residual: residual), c, offset: first, rows: rows.count, columns: columns.count,
                       ldc: n)
            }
        }
        return out
    }
}
