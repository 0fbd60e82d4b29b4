import CBLAS

/// Row-major C = alpha·op(A)·op(B) + beta·C through OpenBLAS.
@inline(__always)
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Fills each of `rows` rows of C (stride ldc) with `bias`, so a following
/// GEMM with beta = 1 adds the bias without another pass over the output.
func broadcastRows(_ bias: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
                   rows: Int, columns: Int, ldc: Int) {
    for r in 0..<rows { (c + r * ldc).update(from: bias, count: columns) }
}

extension CPUBackend {
    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(weight.rank == 2 && x.dim(-1) == weight.shape[1],
                     "linear: input \(x.shape) does not match weight \(weight.shape)")
        let k = weight.shape[1], n = weight.shape[0], rows = x.count / max(k, 1)
        let (out, c) = makeTensor(Array(x.shape.dropLast()) + [n])
        if let bias {
            precondition(bias.count == n, "linear: bias \(bias.shape) for \(n) outputs")
            broadcastRows(bias.floats, into: c, rows: rows, columns: n, ldc: n)
        }
        if rows > 0 {
            let a = x.floats
            withWidenedRows(weight, rowLength: k) { w, outputs in
                sgemm(transB: true, m: rows, n: outputs.count, k: k, a: a, lda: k, b: w, ldb: k,
                      beta: bias == nil ? 0 : 1, c: c + outputs.lowerBound, ldc: n)
            }
        }
        return out
    }

    public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, alpha: Float) -> Tensor {
        let geometry = MatmulGeometry(a: a.shape, b: b.shape, transposeA: transposeA, transposeB: transposeB)
        let (batch, m, n, k) = (geometry.batch, geometry.m, geometry.n, geometry.k)
        let bCols = geometry.bColumns
        let (out, c) = makeTensor([batch, m, n])
        let bStride = geometry.bBatchStride
        for i in 0..<batch {
            sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: alpha,
                  a: a.floats + i * m * k, lda: a.shape[2], b: b.floats + i * bStride, ldb: bCols,
                  c: c + i * m * n, ldc: n)
        }
        return out
    }
}
