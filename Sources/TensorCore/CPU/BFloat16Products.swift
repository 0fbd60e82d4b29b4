import CPUKernels

extension CPUBackend {
    /// Whether bf16 products run natively (the avx512-bf16 kernel set);
    /// elsewhere they are emulated (rounded operands through the f32
    /// product), same results, no faster.
    public var hasNativeBFloat16: Bool { kernels == .avx512BF16 }
}

extension DType {
    var gemmType: sdgen_gemm_dtype {
        switch self {
        case .f32: SDGEN_GEMM_F32
        case .f16: SDGEN_GEMM_F16
        case .bf16: SDGEN_GEMM_BF16
        }
    }
}

extension CPUBackend {
    /// A bf16-precision product on the calling thread: the AVX-512 BF16 kernel,
    /// or under narrower kernel sets the same arithmetic through the f32
    /// product on operands rounded to bf16.
    func bfloat16GEMM(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafeRawPointer, bType: DType, ldb: Int,
                      beta: Float, bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if hasNativeBFloat16 {
            sdgen_bf16_gemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, bType.gemmType, ldb,
                            beta, bias, c, ldc)
            return
        }
        // op(A) is m×k and op(B) k×n; their stored shapes follow the transposes.
        let (aRows, aColumns) = transA ? (k, m) : (m, k)
        let (bRows, bColumns) = transB ? (n, k) : (k, n)
        let (aCopy, roundedA) = roundedToBFloat16(a, .f32, rows: aRows, columns: aColumns, ld: lda)
        let (bCopy, roundedB) = roundedToBFloat16(b, bType, rows: bRows, columns: bColumns, ld: ldb)
        f32GEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                a: roundedA, lda: max(aColumns, 1), b: roundedB, bType: .f32, ldb: max(bColumns, 1),
                beta: beta, bias: bias, c: c, ldc: ldc)
        withExtendedLifetime((aCopy, bCopy)) {}
    }

    /// A dense f32 copy of a strided matrix with every element rounded to
    /// bf16, in a pooled buffer (attention calls this per block of queries).
    private func roundedToBFloat16(_ source: UnsafeRawPointer, _ dtype: DType, rows: Int, columns: Int,
                                   ld: Int) -> (Tensor, UnsafeMutablePointer<Float>) {
        let (copy, values) = makeTensor([rows * columns])
        var bits = [UInt16](repeating: 0, count: columns)
        bits.withUnsafeMutableBytes { row in
            for r in 0..<rows {
                let from = source + r * ld * dtype.byteSize
                HalfConversion.convert(from: from, dtype, to: row.baseAddress!, .bf16, range: 0..<columns)
                HalfConversion.convert(from: row.baseAddress!, .bf16, to: values + r * columns, .f32, range: 0..<columns)
            }
        }
        return (copy, values)
    }
}
