import CPUKernels
import Foundation

/// Multi-head scaled dot-product attention. Under the AVX2 and AVX-512 kernel
/// sets, one fused kernel per head (below); elsewhere two GEMMs around a softmax, a
/// block of queries of one head at a time: the score block (queries × keys)
/// is at most a few MB, so 4096-token self-attention never holds more than
/// `threads` such blocks.
///
/// Heads are read in place from the [B, L, H·D] projections through leading
/// dimensions; no transposes are materialised.
extension CPUBackend {
    static let attentionBlockBytes = 2 << 20

    /// The most score-block bytes one attention holds at once (a block per worker).
    public var attentionScratchBytes: Int { threads * Self.attentionBlockBytes }

    public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float,
                          causal: Bool, keyMask: Tensor?) -> Tensor {
        return timed(.attention, "attention \(q.shape[1])×\(k.shape[1]) ×\(heads) heads") {
            let geometry = AttentionGeometry(q: q.shape, k: k.shape, v: v.shape, heads: heads, keyMask: keyMask?.shape)
            let (batch, queries, keys, width) = (geometry.batch, geometry.queries, geometry.keys, geometry.width)
            let headDim = geometry.headDim
            let (out, o) = makeTensor([batch, queries, width])
            if queries == 0 || keys == 0 { o.update(repeating: 0, count: out.count); return out }

            if usesFusedAttention {
                fusedAttention(q: q, k: k, v: v, geometry: geometry, scale: scale, causal: causal,
                               keyMask: keyMask, into: o)
                return out
            }

            let blockRows = max(1, min(queries, Self.attentionBlockBytes / (4 * keys)))
            let blocksPerHead = (queries + blockRows - 1) / blockRows
            let tasks = batch * heads * blocksPerHead
            let qs = q.floats, ks = k.floats, vs = v.floats, mask = keyMask?.floats
            let workers = min(threads, tasks)

            // Many small GEMMs: single-threaded products, our workers side by side.
            let maskBox = UncheckedBox(mask)
            let cancellation = ComputeCancellation.current
            parallelFor(workers, threads: workers) { workerRange in
                for worker in workerRange {
                    let scores = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * keys)
                    let inverseSums = UnsafeMutablePointer<Float>.allocate(capacity: blockRows)
                    defer { scores.deallocate(); inverseSums.deallocate() }
                    var task = worker
                    while task < tasks, cancellation?.isCancelled != true {
                        let block = task % blocksPerHead
                        let head = (task / blocksPerHead) % heads
                        let b = task / (blocksPerHead * heads)
                        let q0 = block * blockRows, rows = min(blockRows, queries - q0)
                        let column = head * headDim
                        gemmOnThisThread(transB: true, m: rows, n: keys, k: headDim, alpha: scale,
                              a: qs + (b * queries + q0) * width + column, lda: width,
                              b: ks + b * keys * width + column, ldb: width, c: scores, ldc: keys)
                        for r in 0..<rows {
                            let row = scores + r * keys
                            if let m = maskBox.value {
                                let mr = m + b * keys
                                for j in 0..<keys { row[j] += mr[j] }
                            }
                            if causal {
                                let visible = q0 + r + 1
                                if visible < keys { (row + visible).update(repeating: -.infinity, count: keys - visible) }
                            }
                            inverseSums[r] = exponentiateRow(row, keys)
                        }
                        let target = o + (b * queries + q0) * width + column
                        gemmOnThisThread(m: rows, n: headDim, k: keys, a: scores, lda: keys,
                              b: vs + b * keys * width + column, ldb: width, c: target, ldc: width)
                        // Softmax's division, on rows of headDim instead of keys.
                        for r in 0..<rows {
                            let out = target + r * width, factor = inverseSums[r]
                            for d in 0..<headDim { out[d] *= factor }
                        }
                        task += workers
                    }
                }
            }
            return out
        }
    }
}

extension CPUBackend {
    /// Whether attention runs as one fused kernel (CPUKernels/attention.c,
    /// attention_avx2.c: a block of scores never leaves the cache) rather
    /// than two GEMMs around a softmax. It needs AVX2 or AVX-512 for f32
    /// products, AVX-512 BF16 for bf16 ones.
    public var usesFusedAttention: Bool {
        guard tuning.fusedAttention else { return false }
        return bf16Products ? hasNativeBFloat16 : kernels >= .avx2
    }

    /// The most scores one fused task computes (queries × keys): a task is
    /// where a cancellation is noticed, so a task of a 4-megapixel image's
    /// attention stays a fraction of a second; SD's 4096 × 4096 heads are
    /// single tasks still.
    static let fusedAttentionTaskScores = 1 << 26

    /// The fused kernel packs a head's K and V once per call: so each task is
    /// a whole head where there are enough heads to go round and the head is
    /// not huge (`fusedAttentionTaskScores`), else a share of its queries.
    private func fusedAttention(q: Tensor, k: Tensor, v: Tensor, geometry: AttentionGeometry, scale: Float,
                                causal: Bool, keyMask: Tensor?, into o: UnsafeMutablePointer<Float>) {
        let (batch, heads, queries, keys) = (geometry.batch, geometry.heads, geometry.queries, geometry.keys)
        let (width, headDim) = (geometry.width, geometry.headDim)
        // At least 1024 queries a task, so packing K and V per task stays cheap.
        let mostQueries = max(1024, Self.fusedAttentionTaskScores / keys)
        let chunksPerHead = max(1, (threads + batch * heads - 1) / (batch * heads), (queries + mostQueries - 1) / mostQueries)
        let chunk = ((queries + chunksPerHead - 1) / chunksPerHead + 31) / 32 * 32
        let chunks = (queries + chunk - 1) / chunk
        let tasks = batch * heads * chunks
        let pointers = UncheckedBox((q.floats, k.floats, v.floats, keyMask?.floats, o))
        let attention = precision == .bf16 ? sdgen_bf16_attention
            : kernels >= .avx512 ? sdgen_f32_attention : sdgen_f32_attention_avx2
        let cancellation = ComputeCancellation.current
        // One task at a time to whichever worker is free: a fixed share each
        // left the faster core waiting at the end (1.3% of BERT's 4×512
        // forward pass on Zen 3, `perf`), the cores' speeds differing by more
        // than a task on these shared VMs.
        parallelChunks(tasks, chunk: 1, threads: threads) { claimed in
            let (qs, ks, vs, mask, o) = pointers.value
            for task in claimed where cancellation?.isCancelled != true {
                let first = (task % chunks) * chunk, head = (task / chunks) % heads, b = task / (chunks * heads)
                let column = head * headDim
                attention(qs + (b * queries + first) * width + column, width,
                          ks + b * keys * width + column, width,
                          vs + b * keys * width + column, width,
                          o + (b * queries + first) * width + column, width,
                          min(chunk, queries - first), keys, Int32(headDim), scale,
                          mask.map { UnsafePointer($0 + b * keys) }, causal ? 1 : 0, first)
            }
        }
    }
}
