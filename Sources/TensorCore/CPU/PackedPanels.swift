import CPUKernels
import Foundation

/// A linear layer's f32 weight laid out once as the product kernel's B
/// panels (`sdgen_f32_pack_panels`, or `sdgen_bf16_pack_panels` for bf16
/// products, rounded to bf16 pairs in half the bytes), so that its products
/// read it as one sequential stream instead of packing it again every time.
/// With few rows the packing was a large part of the product: BERT-base at
/// 128 tokens ran its 768×768 products at ~390 GFLOP/s packing, ~500 with B
/// already packed (Zen 5, 2 threads), the packing being a cold, transposing
/// read of the whole weight for 128 multiply-adds per element.
///
/// Only weights whose bytes are a file's mapped pages are packed (see
/// `CPUBackend.packedPanels(of:)`): their pages are dropped afterwards, so the
/// panels take their place in memory rather than adding to it.
final class PackedPanels: @unchecked Sendable {
    /// Which product the panels are laid out for.
    enum Layout: Equatable {
        case f32AVX512, f32AVX2, bf16

        /// Columns per panel (the bf16 kernel's tile is as wide as the f32 one's).
        var width: Int {
            switch self {
            case .f32AVX512, .bf16: Int(sdgen_f32_panel_columns())
            case .f32AVX2: Int(sdgen_f32_panel_columns_avx2())
            }
        }
        /// Source elements per packed dword: a bf16 pair, or one f32.
        var unit: Int { self == .bf16 ? 2 : 1 }
    }

    let dwords: UnsafeMutablePointer<UInt32>
    let layout: Layout
    /// Output features (the weight's rows) and depth (its columns).
    let n: Int, k: Int
    /// Columns per panel, and packed dwords per column (k, or k's pairs).
    let width: Int, units: Int

    init?(packing weight: UnsafeRawPointer, dtype: DType, n: Int, k: Int, layout: Layout) {
        width = layout.width
        units = (k + layout.unit - 1) / layout.unit
        let count = (n + width - 1) / width * width * units
        var memory: UnsafeMutableRawPointer?
        guard count > 0, posix_memalign(&memory, 64, count * 4) == 0, let memory else { return nil }
        dwords = memory.bindMemory(to: UInt32.self, capacity: count)
        self.layout = layout
        self.n = n
        self.k = k
        let floats = UnsafeMutableRawPointer(dwords).assumingMemoryBound(to: Float.self)
        switch layout {
        case .f32AVX512: sdgen_f32_pack_panels(weight, dtype.gemmType, n, k, floats)
        case .f32AVX2: sdgen_f32_pack_panels_avx2(weight, dtype.gemmType, n, k, floats)
        case .bf16: sdgen_bf16_pack_panels(weight, dtype.gemmType, n, k, dwords)
        }
    }

    deinit { free(dwords) }

    /// C[m, columns] = A[m, k]·Bᵀ + bias for this weight's output features
    /// `columns` (starting on a panel), on the calling thread.
    func product(m: Int, columns: Range<Int>, a: UnsafePointer<Float>, lda: Int, bias: UnsafePointer<Float>?,
                 c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(columns.lowerBound % width == 0, "a prepacked product starts on a panel")
        let panel = dwords + columns.lowerBound * units
        let floats = UnsafeRawPointer(panel).assumingMemoryBound(to: Float.self)
        let bias = bias.map { $0 + columns.lowerBound }, c = c + columns.lowerBound
        switch layout {
        case .f32AVX512: sdgen_f32_gemm_panels(m, columns.count, k, 1, a, lda, floats, 0, bias, c, ldc)
        case .f32AVX2: sdgen_f32_gemm_panels_avx2(m, columns.count, k, 1, a, lda, floats, 0, bias, c, ldc)
        case .bf16: sdgen_bf16_gemm_panels(m, columns.count, k, 1, a, lda, panel, 0, bias, c, ldc)
        }
    }
}

extension CPUBackend {
    /// A [n, k] f32 linear weight's panels, packed at its first product, or
    /// nil where products pack it as they go: f16/bf16 weights (f32 panels
    /// would double what SD's fp16 weights cost; bf16 panels would take
    /// memory that, unlike a file's pages, stays in the process between
    /// stages), OpenBLAS and emulated bf16, and weights in memory of the
    /// process's own, whose panels would be a second copy (unless
    /// `tuning.prepacksAllWeights`, for tests). A weight from a mapped file
    /// has its pages dropped once packed: the panels replace it in memory
    /// (in bf16, at half its size), and the file still holds it for anything
    /// else that reads it.
    func packedPanels(of weight: Tensor) -> PackedPanels? {
        let layout: PackedPanels.Layout
        switch (bf16Products, kernels) {
        case (true, .avx512BF16): layout = .bf16
        case (false, .avx512), (false, .avx512BF16): layout = .f32AVX512
        case (false, .avx2): layout = .f32AVX2
        default: return nil
        }
        guard weight.dtype == .f32, weight.rank == 2, let storage = weight.storage as? CPUStorage,
              storage.isFileBacked || tuning.prepacksAllWeights else { return nil }
        let (n, k) = (weight.shape[0], weight.shape[1])
        return storage.panels.withLock { panels -> PackedPanels? in
            if let panels { return panels.n == n && panels.k == k && panels.layout == layout ? panels : nil }
            guard let packed = PackedPanels(packing: storage.pointer, dtype: weight.dtype, n: n, k: k,
                                            layout: layout) else { return nil }
            panels = packed
            if storage.isFileBacked { dropPages(storage.pointer, byteCount: storage.byteCount) }
            return packed
        }
    }

    /// Runs of columns per worker that a product against prepacked panels is
    /// cut into (`product(_:m:a:bias:c:epilogue:)`) by the AVX2 set, which
    /// reads A in place; the AVX-512 sets, which pack A (and were not
    /// measured this way), keep one share per worker. Eight rather than four:
    /// BERT 4×512 2.8% faster (5 of 6 interleaved rounds, Zen 3), the other
    /// sizes within noise (each run reads all of A again, from L3).
    static func productRunsPerWorker(_ layout: PackedPanels.Layout) -> Int { layout == .f32AVX2 ? 8 : 1 }

    /// Rows of A per block of the GEMM driver, the AVX2 set's run of rows.
    static let productBlockRows = Int(sdgen_gemm_block_rows())

    /// C[m, n] = A·Bᵀ + bias, then `epilogue`, against a prepacked weight, on
    /// the workers in runs claimed as each frees up (`parallelChunks`), each
    /// run's epilogue applied while its block of C is in that core's cache:
    /// runs of rows where there are many, else (BERT's 128–512 tokens against
    /// 768–3072 outputs) runs of columns. The AVX2 set's runs of rows are one
    /// A block each: each block streams all of B whatever the run, so shorter
    /// runs cost nothing, and a run of 256 rows (BERT's 2048 tokens over 8
    /// runs) was 96 + 96 + a ragged 64. A kernel that packs A packs all of it
    /// for each run of columns, hence one run per worker there
    /// (`productRunsPerWorker`).
    func product(_ panels: PackedPanels, m: Int, a: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 c: UnsafeMutablePointer<Float>, epilogue: ProductEpilogue) {
        let (n, k) = (panels.n, panels.k)
        let workers = min(threads, max(1, m * n * k / Self.parallelGEMMWork))
        if workers <= 1 || m >= n {
            // One share of whole panels per worker; the AVX2 set's runs are at
            // most one A block (fewer rows than two blocks still split, in halves).
            // With one worker `parallelChunks` makes it one call whatever the chunk.
            let unit = panelShape?.rows ?? 1
            let share = (m + workers * unit - 1) / (workers * unit) * unit
            let chunk = panels.layout == .f32AVX2 ? min(Self.productBlockRows, share) : share
            parallelChunks(m, chunk: chunk, threads: workers) { rows in
                panels.product(m: rows.count, columns: 0..<n, a: a + rows.lowerBound * k, lda: k, bias: bias,
                               c: c + rows.lowerBound * n, ldc: n)
                finish(epilogue, c, offset: rows.lowerBound * n, rows: rows.count, columns: n, ldc: n)
            }
            return
        }
        let panelCount = (n + panels.width - 1) / panels.width
        let runs = workers * Self.productRunsPerWorker(panels.layout)
        let chunk = (panelCount + runs - 1) / runs
        parallelChunks(panelCount, chunk: chunk, threads: workers) { units in
            let columns = units.lowerBound * panels.width..<min(n, units.upperBound * panels.width)
            panels.product(m: m, columns: columns, a: a, lda: k, bias: bias, c: c, ldc: n)
            finish(epilogue, c, offset: columns.lowerBound, rows: m, columns: columns.count, ldc: n)
        }
    }

    /// Whether `weight` has been prepacked, by this backend or another with
    /// the same storage (tests and diagnostics).
    public func hasPackedPanels(_ weight: Tensor) -> Bool {
        (weight.storage as? CPUStorage)?.panels.withLock { $0 != nil } ?? false
    }
}

/// Drops the whole pages inside a file mapping's range; they read back from
/// the file if touched again.
private func dropPages(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = (Int(bitPattern: pointer) + page - 1) / page * page
    let end = (Int(bitPattern: pointer) + byteCount) / page * page
    if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED) }
}
