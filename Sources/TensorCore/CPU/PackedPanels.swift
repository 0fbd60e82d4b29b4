import CPUKernels
import Foundation

/// A linear layer's f32 weight laid out once as the product kernel's B
/// panels (`sdgen_f32_pack_panels`), so that its products read it as one
/// sequential stream instead of packing it again every time. With few rows
/// the packing was a large part of the product: BERT-base at 128 tokens ran
/// its 768×768 products at ~390 GFLOP/s packing, ~500 with B already packed
/// (Zen 5, 2 threads), the packing being a cold, transposing read of the
/// whole weight for 128 multiply-adds per element.
///
/// Only weights whose bytes are a file's mapped pages are packed (see
/// `CPUBackend.packedPanels(of:)`): their pages are dropped afterwards, so the
/// panels take their place in memory rather than adding to it.
final class PackedPanels: @unchecked Sendable {
    let floats: UnsafeMutablePointer<Float>
    /// The kernel set whose panel width they have.
    let kernels: CPUKernelSet
    /// Output features (the weight's rows) and depth (its columns).
    let n: Int, k: Int
    /// Columns per panel.
    let width: Int

    init?(packing weight: UnsafeRawPointer, dtype: DType, n: Int, k: Int, kernels: CPUKernelSet) {
        let width: Int
        switch kernels {
        case .avx512, .avx512BF16: width = Int(sdgen_f32_panel_columns())
        case .avx2: width = Int(sdgen_f32_panel_columns_avx2())
        case .generic: return nil
        }
        let count = (n + width - 1) / width * width * k
        var memory: UnsafeMutableRawPointer?
        guard count > 0, posix_memalign(&memory, 64, count * 4) == 0, let memory else { return nil }
        floats = memory.bindMemory(to: Float.self, capacity: count)
        self.kernels = kernels
        self.n = n
        self.k = k
        self.width = width
        if kernels == .avx2 {
            sdgen_f32_pack_panels_avx2(weight, dtype.gemmType, n, k, floats)
        } else {
            sdgen_f32_pack_panels(weight, dtype.gemmType, n, k, floats)
        }
    }

    deinit { free(floats) }

    /// C[m, columns] = A[m, k]·Bᵀ + bias for this weight's output features
    /// `columns` (starting on a panel), on the calling thread.
    func product(m: Int, columns: Range<Int>, a: UnsafePointer<Float>, lda: Int, bias: UnsafePointer<Float>?,
                 c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(columns.lowerBound % width == 0, "a prepacked product starts on a panel")
        let panel = floats + columns.lowerBound * k
        let bias = bias.map { $0 + columns.lowerBound }, c = c + columns.lowerBound
        if kernels == .avx2 {
            sdgen_f32_gemm_panels_avx2(m, columns.count, k, 1, a, lda, panel, 0, bias, c, ldc)
        } else {
            sdgen_f32_gemm_panels(m, columns.count, k, 1, a, lda, panel, 0, bias, c, ldc)
        }
    }
}

extension CPUBackend {
    /// A [n, k] linear weight's panels, packed at its first product, or nil
    /// where products pack it as they go: f16/bf16 weights (panels are f32,
    /// and would double what SD's fp16 weights cost), bf16 products, OpenBLAS,
    /// and weights in memory of the process's own, whose panels would be a
    /// second copy (unless `tuning.prepacksAllWeights`, for tests). A weight
    /// from a mapped file has its pages dropped once packed: the panels
    /// replace it in memory, and the file still holds it for anything else
    /// that reads it.
    func packedPanels(of weight: Tensor) -> PackedPanels? {
        guard weight.dtype == .f32, weight.rank == 2, !bf16Products, kernels >= .avx2,
              let storage = weight.storage as? CPUStorage,
              storage.isFileBacked || tuning.prepacksAllWeights else { return nil }
        let (n, k) = (weight.shape[0], weight.shape[1])
        return storage.panels.withLock { panels -> PackedPanels? in
            if let panels { return panels.n == n && panels.k == k && panels.kernels == kernels ? panels : nil }
            guard let packed = PackedPanels(packing: storage.pointer, dtype: weight.dtype, n: n, k: k,
                                            kernels: kernels) else { return nil }
            panels = packed
            if storage.isFileBacked { dropPages(storage.pointer, byteCount: storage.byteCount) }
            return packed
        }
    }

    /// Whether `weight`'s products have run on its prepacked panels (tests
    /// and diagnostics).
    public func hasPackedPanels(_ weight: Tensor) -> Bool {
        (weight.storage as? CPUStorage)?.panels.withLock { $0 != nil } ?? false
    }

    /// A product with a prepacked weight on all workers: by rows when there
    /// are many, else by whole panels of output features.
    func gemm(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, panels: PackedPanels, columns: Range<Int>,
              bias: UnsafePointer<Float>?, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let n = columns.count
        let workers = min(threads, max(1, m * n * k / Self.parallelGEMMWork))
        let panelCount = (n + panels.width - 1) / panels.width
        if workers > 1 && m < n && panelCount >= workers {
            parallelFor(panelCount, threads: workers) { range in
                let first = columns.lowerBound + range.lowerBound * panels.width
                let end = min(columns.upperBound, columns.lowerBound + range.upperBound * panels.width)
                panels.product(m: m, columns: first..<end, a: a, lda: lda, bias: bias, c: c, ldc: ldc)
            }
        } else {
            parallelFor(m, threads: workers) { rows in
                panels.product(m: rows.count, columns: columns, a: a + rows.lowerBound * lda, lda: lda, bias: bias,
                               c: c + rows.lowerBound * ldc, ldc: ldc)
            }
        }
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
