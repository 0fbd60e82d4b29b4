import CBLAS
import CPUKernels

/// Row-major C = alpha·op(A)·op(B) + beta·C through OpenBLAS.
@inline(__always)
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

extension CPUBackend {
    /// Products smaller than this many multiply-adds run on one worker.
    public static let parallelGEMMWork = 1 << 22

    /// Runs an m×n product of depth k on the workers, `body(rows, columns)`
    /// computing that block of C on its thread. OpenBLAS itself runs
    /// single-threaded: its idle threads spin (sched_yield) for ~0.1 s after
    /// every call, which on a 2-core machine steals the cores from our own
    /// loops between GEMMs (measured: 10% of a UNet step in the scheduler). So
    /// big products are split here instead: by rows of C when there are many
    /// (each worker packs B whole, a small cost when M is large), else by
    /// columns (BERT's 128 tokens against 3072 outputs); small ones stay on the
    /// calling thread. Nothing runs once the calling thread's
    /// `ComputeCancellation` has fired.
    func splitProduct(m: Int, n: Int, k: Int,
                      _ body: (_ rows: Range<Int>, _ columns: Range<Int>) -> Void) {
        let workers = min(threads, max(1, m * n * k / Self.parallelGEMMWork))
        if ComputeCancellation.currentIsCancelled { return }
        if workers <= 1 {
            body(0..<m, 0..<n)
        } else if m >= n {
            parallelFor(m, threads: workers) { body($0, 0..<n) }
        } else {
            parallelFor(n, threads: workers) { columns in body(0..<m, columns) }
        }
    }

    /// A product on all workers (`splitProduct`), each running
    /// `gemmOnThisThread` (sdgen's kernels for the kernel set and precision,
    /// or OpenBLAS).
    ///
    /// B may be f16 or bf16 (a resident weight) only where
    /// `packsStoredWeights`: sdgen's kernels read it as they pack it.
    /// `bias` (n floats) is added to every row of C: C = alpha·op(A)·op(B) +
    /// beta·C + bias.
    /// `epilogue` is applied to each worker's block of C right after it is
    /// made, while it is in that worker's cache.
    func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
              a: UnsafePointer<Float>, lda: Int, b: UnsafeRawPointer, bType: DType = .f32, ldb: Int,
              beta: Float = 0, bias: UnsafePointer<Float>? = nil, c: UnsafeMutablePointer<Float>, ldc: Int,
              epilogue: ProductEpilogue = ProductEpilogue()) {
        splitProduct(m: m, n: n, k: k) { rows, columns in
            let offset = rows.lowerBound * ldc + columns.lowerBound
            gemmOnThisThread(transA: transA, transB: transB, m: rows.count, n: columns.count, k: k, alpha: alpha,
                             a: a + rows.lowerBound * (transA ? 1 : lda), lda: lda,
                             b: b + columns.lowerBound * (transB ? ldb : 1) * bType.byteSize, bType: bType, ldb: ldb,
                             beta: beta, bias: bias.map { $0 + columns.lowerBound }, c: c + offset, ldc: ldc)
            finish(epilogue, c, offset: offset, rows: rows.count, columns: columns.count, ldc: ldc)
        }
    }

    /// The epilogue in place over a block of C, `offset` floats into it.
    func finish(_ epilogue: ProductEpilogue, _ c: UnsafeMutablePointer<Float>, offset: Int, rows: Int, columns: Int,
                ldc: Int) {
        guard !epilogue.isEmpty else { return }
        for r in 0..<rows {
            let row = c + offset + r * ldc
            if let activation = epilogue.activation { applyActivation(activation, row, row, columns) }
            if let residual = epilogue.residual { binaryRun(.add, row, residual + offset + r * ldc, row, columns) }
        }
    }

    /// One product on the calling thread in the backend's matmul precision:
    /// what `gemm`'s workers run, and what callers that already split their
    /// work over the workers (attention, Winograd's point products) call.
    @inline(__always)
    func gemmOnThisThread(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                          a: UnsafePointer<Float>, lda: Int, b: UnsafeRawPointer, bType: DType = .f32, ldb: Int,
                          beta: Float = 0, bias: UnsafePointer<Float>? = nil, c: UnsafeMutablePointer<Float>,
                          ldc: Int) {
        if bf16Products {
            bfloat16GEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                         b: b, bType: bType, ldb: ldb, beta: beta, bias: bias, c: c, ldc: ldc)
        } else {
            f32GEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                    b: b, bType: bType, ldb: ldb, beta: beta, bias: bias, c: c, ldc: ldc)
        }
    }

    /// An f32 product on the calling thread through the kernel set's GEMM;
    /// OpenBLAS under the generic set, which takes f32 B only.
    @inline(__always)
    func f32GEMM(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                 a: UnsafePointer<Float>, lda: Int, b: UnsafeRawPointer, bType: DType = .f32, ldb: Int,
                 beta: Float = 0, bias: UnsafePointer<Float>? = nil, c: UnsafeMutablePointer<Float>, ldc: Int) {
        switch kernels {
        case .avx512, .avx512BF16:
            sdgen_f32_gemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, bType.gemmType, ldb,
                           beta, bias, c, ldc)
        case .avx2:
            sdgen_f32_gemm_avx2(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, bType.gemmType, ldb,
                                beta, bias, c, ldc)
        case .generic:
            precondition(bType == .f32, "OpenBLAS products take f32 operands; \(bType) must be widened first")
            let beta = foldBias(bias, beta: beta, into: c, rows: m, columns: n, ldc: ldc)
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b.assumingMemoryBound(to: Float.self), ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// The register tile's rows and columns, which a product with both
    /// operands prepacked (`packAPanels`, `f32GEMM(aPanels:bPanels:…)`)
    /// takes its panels in; nil under OpenBLAS, which packs its own.
    var panelShape: (rows: Int, columns: Int)? {
        switch kernels {
        case .avx512, .avx512BF16: (Int(sdgen_f32_panel_rows()), Int(sdgen_f32_panel_columns()))
        case .avx2: (Int(sdgen_f32_panel_rows_avx2()), Int(sdgen_f32_panel_columns_avx2()))
        case .generic: nil
        }
    }

    /// A[m, k] (f32, rows `lda` apart) as panels of `panelShape.rows` rows,
    /// each all of K, rows past m zero: ceil(m / rows) · rows · k floats.
    func packAPanels(_ a: UnsafePointer<Float>, lda: Int, m: Int, k: Int, into panels: UnsafeMutablePointer<Float>) {
        switch kernels {
        case .avx512, .avx512BF16: sdgen_f32_pack_a_panels(a, lda, m, k, panels)
        case .avx2: sdgen_f32_pack_a_panels_avx2(a, lda, m, k, panels)
        case .generic: preconditionFailure("OpenBLAS takes no prepacked operands")
        }
    }

    /// C[m, n] = A·Bᵀ + bias in f32 on the calling thread, A packed by
    /// `packAPanels` and B [n, k] as panels of `panelShape.columns` columns
    /// (each all of K as f32: for k, its `columns` values side by side).
    @inline(__always)
    func f32GEMM(aPanels: UnsafePointer<Float>, bPanels: UnsafePointer<Float>, m: Int, n: Int, k: Int,
                 bias: UnsafePointer<Float>? = nil, c: UnsafeMutablePointer<Float>, ldc: Int) {
        switch kernels {
        case .avx512, .avx512BF16: sdgen_f32_gemm_a_panels(m, n, k, aPanels, bPanels, bias, c, ldc)
        case .avx2: sdgen_f32_gemm_a_panels_avx2(m, n, k, aPanels, bPanels, bias, c, ldc)
        case .generic: preconditionFailure("OpenBLAS takes no prepacked operands")
        }
    }

    /// Whether products take an f16/bf16 weight as stored, converted as
    /// sdgen's kernel packs it, instead of widened to f32 first: always with
    /// sdgen's own kernels (and in bf16 precision, whose emulation rounds from
    /// any type); OpenBLAS (the generic set) needs f32.
    var packsStoredWeights: Bool {
        bf16Products || (kernels >= .avx2 && tuning.packsStoredWeights)
    }

    /// Calls `body` with a [rows, rowLength] weight in blocks of rows in a
    /// form `gemm` takes as B: as stored
    /// where `packsStoredWeights`, else widened to f32 (`withWidenedRows`).
    func withGEMMWeightRows(_ weight: Tensor, rowLength: Int,
                            _ body: (UnsafeRawPointer, DType, Range<Int>) -> Void) {
        if packsStoredWeights {
            body(weight.rawBytes, weight.dtype, 0..<(weight.count / max(rowLength, 1)))
        } else {
            withWidenedRows(weight, rowLength: rowLength) { body($0, .f32, $1) }  // f32 weights pass through as they are
        }
    }
}

/// For OpenBLAS, which cannot add a bias as it stores a tile: C = beta·C +
/// bias beforehand, and the beta the product then takes (1 where a bias was
/// folded in, else `beta` unchanged).
func foldBias(_ bias: UnsafePointer<Float>?, beta: Float, into c: UnsafeMutablePointer<Float>,
              rows: Int, columns: Int, ldc: Int) -> Float {
    guard let bias else { return beta }
    for r in 0..<rows {
        let row = c + r * ldc
        if beta == 0 {
            row.update(from: bias, count: columns)
        } else {
            for j in 0..<columns { row[j] = beta * row[j] + bias[j] }
        }
    }
    return 1
}

extension CPUBackend {
    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, activation: Activation?, residual: Tensor?) -> Tensor {
        let g = LinearGeometry(input: x.shape, weight: weight.shape, bias: bias?.shape, residual: residual?.shape)
        let (k, n, rows) = (g.inputs, g.outputs, g.rows)
        let label = "linear \(rows)×\(n)×\(k)" + (activation.map { " + \($0)" } ?? "") + (residual == nil ? "" : " + residual")
        return timed(.matrixProducts, label, flops: g.flops) {
            let (out, c) = makeTensor(g.outputShape)
            if rows > 0 {
                let a = x.floats, biases = bias?.floats
                let epilogue = ProductEpilogue(activation: activation, residual: residual?.floats)
                if let panels = packedPanels(of: weight) {
                    product(panels, m: rows, a: a, bias: biases, c: c, epilogue: epilogue)
                    return out
                }
                withGEMMWeightRows(weight, rowLength: k) { w, dtype, outputs in
                    gemm(transB: true, m: rows, n: outputs.count, k: k, a: a, lda: k, b: w, bType: dtype, ldb: k,
                         bias: biases.map { $0 + outputs.lowerBound }, c: c + outputs.lowerBound, ldc: n,
                         epilogue: epilogue.offset(by: outputs.lowerBound))
                }
            }
            return out
        }
    }

    public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, alpha: Float) -> Tensor {
        return timed(.matrixProducts, "matmul \(a.shape)·\(b.shape)") {
            let geometry = MatmulGeometry(a: a.shape, b: b.shape, transposeA: transposeA, transposeB: transposeB)
            let (batch, m, n, k) = (geometry.batch, geometry.m, geometry.n, geometry.k)
            let bCols = geometry.bColumns
            let (out, c) = makeTensor([batch, m, n])
            let bStride = geometry.bBatchStride
            for i in 0..<batch {
                gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: alpha,
                      a: a.floats + i * m * k, lda: a.shape[2], b: b.floats + i * bStride, ldb: bCols,
                      c: c + i * m * n, ldc: n)
            }
            return out
        }
    }
}

/// Host products for loaders that hold f32 arrays, not tensors (LoRA merges):
/// C[m, n] += alpha · A[m, k] · B[k, n], row-major — the CPU backend's own
/// product (its kernel choice and its split over the cores), so what the
/// CPU-speed work decides for products applies here too.
public enum HostGEMM {
    private static let cpu = CPUBackend()

    public static func accumulate(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>,
                                  b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>) {
        guard m > 0, n > 0, k > 0 else { return }
        cpu.gemm(m: m, n: n, k: k, alpha: alpha, a: a, lda: k, b: UnsafeRawPointer(b), ldb: n, beta: 1, c: c, ldc: n)
    }
}
