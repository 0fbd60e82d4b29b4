/// Attention. On devices with matrix units, head sizes whose multiple of 16
/// is 16…160 run attention_coopmat.comp. Otherwise head dims up to 160 (SD 1.5's 40/80/160, CLIP's and BERT's 64)
/// run the fused flash-style kernel (attention.comp): no score matrix in
/// memory. Larger heads (the VAE's single 512-wide head) take two GEMMs per
/// block of queries with a masked softmax between them, the score block
/// capped at `scoreBlockBytes`.
extension VulkanBackend {
    static let fusedMaxHeadDim = 160
    static let scoreBlockBytes = 64 << 20

    /// The most score bytes one attention holds at once (the blocked path's
    /// block; the fused kernel keeps its scores in shared memory).
    public var attentionScratchBytes: Int { min(Self.scoreBlockBytes, bindingLimit) }

    public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float,
                          causal: Bool, keyMask: Tensor?) -> Tensor {
        let geometry = AttentionGeometry(q: q.shape, k: k.shape, v: v.shape, heads: heads, keyMask: keyMask?.shape)
        let (batch, queries, keys, width) = (geometry.batch, geometry.queries, geometry.keys, geometry.width)
        let headDim = geometry.headDim
        if queries == 0 || keys == 0 || headDim == 0 { return zeros([batch, queries, width], dtype: .f32) }
        let (q, k, v) = (f32(q), f32(k), f32(v))
        let mask = keyMask.map(f32)
        // Both fused kernels take the same bindings and leading push constants (attention.comp's six).
        let push: [UInt32] = [UInt32(size: queries), UInt32(size: keys), UInt32(size: width), scale.pushBits,
                              causal ? 1 : 0, mask == nil ? 0 : 1]
        func fused(_ pipeline: ComputePipeline, push: [UInt32], rows: Int, kernel: String) -> Tensor {
            precondition(heads <= 65535 && batch <= 65535, "attention: too many heads or batches for one dispatch")
            let out = makeTensor([batch, queries, width])
            recorder.dispatch(pipeline, [.read(q.vulkanBuffer, bytes: q.byteCount), .read(k.vulkanBuffer, bytes: k.byteCount),
                                         .read(v.vulkanBuffer, bytes: v.byteCount),
                                         mask.map { .read($0.vulkanBuffer, bytes: $0.byteCount) } ?? .read(dummy, bytes: 0),
                                         .write(out.vulkanBuffer, bytes: out.byteCount)],
                              push: push, groups: ((queries + rows - 1) / rows, heads, batch),
                              label: { "attention \(queries)×\(keys), \(heads) heads of \(headDim)\(kernel)" },
                              flops: geometry.flops)
            return out
        }
        if usesCooperativeAttention, !FullPrecisionProducts.isRequired,
           let padded = cooperativeAttentionWidth(headDim: headDim, width: width) {
            let subgroup = UInt32(max(1, info.subgroupSize))
            let group = Self.cooperativeAttentionGroup(padded)
            let pipeline = pipelines.require("attention_coopmat_d\(padded)",
                                             specialization: [subgroup, UInt32(group.subgroups) * subgroup])
            return fused(pipeline, push: push + [UInt32(size: headDim)], rows: 16 * group.subgroups,
                         kernel: " (matrix units)")
        }
        if let (rows, block) = fusedBlocks(headDim: headDim, keys: keys) {
            let pipeline = pipelines.require("attention", specialization: [UInt32(headDim), UInt32(rows), UInt32(block)])
            return fused(pipeline, push: push, rows: rows, kernel: "")
        }
        return blockedAttention(q: q, k: k, v: v, heads: heads, scale: scale, causal: causal, keyMask: mask)
    }

    /// Whether attention with heads of `headDim` in rows of `width` runs on
    /// the matrix units here (outside `FullPrecisionProducts`).
    public func attentionUsesMatrixUnits(headDim: Int, width: Int) -> Bool {
        usesCooperativeAttention && cooperativeAttentionWidth(headDim: headDim, width: width) != nil
    }

    /// Head sizes rounded up to 16 that attention_coopmat.comp is built for.
    static let cooperativeAttentionWidths = [16, 32, 48, 64, 80, 96, 128, 160]

    /// The matrix-unit kernel's variant (the head size rounded up to 16) for
    /// a head size, or nil: it reads 16 bytes at a time, so the head size and
    /// the row width must be multiples of 4, and its tiles must fit the
    /// device's shared memory.
    func cooperativeAttentionWidth(headDim: Int, width: Int) -> Int? {
        let padded = (headDim + 15) / 16 * 16
        guard headDim % 4 == 0, width % 4 == 0, Self.cooperativeAttentionWidths.contains(padded) else { return nil }
        // The shader's shared arrays: K and V blocks, per subgroup its scores and probabilities, row statistics.
        let (subgroups, keys) = Self.cooperativeAttentionGroup(padded)
        let bytes = 2 * 2 * keys * (padded + 8) + subgroups * 16 * (4 * keys + 2 * (keys + 8)) + 16 * 16 * subgroups
        return bytes <= info.maxSharedMemoryBytes ? padded : nil
    }

    /// attention_coopmat.comp's workgroup for a variant: subgroups of 16
    /// queries (2 for heads above 128, else 4) and keys per block, sized so
    /// that every variant fits 32 KiB of shared memory (lavapipe's, where the
    /// tests run them).
    static func cooperativeAttentionGroup(_ padded: Int) -> (subgroups: Int, keys: Int) {
        (padded > 128 ? 2 : 4, 32)
    }

    /// Runs attention on the matrix-unit kernel and on the portable one and
    /// compares (f16 operands: within 1e-2 of the largest output); a driver
    /// that gets it wrong, or runs the kernel with fewer subgroups than it
    /// needs, keeps the portable kernel.
    func selfTestCooperativeAttention() -> Bool {
        func tensor(_ shape: [Int], _ seed: Int) -> Tensor {
            let count = shape.reduce(1, *)
            return upload((0..<count).map { Float(($0 &* seed &+ 17) % 97) / 48 - 1 }, shape: shape)
        }
        let cases: [(q: [Int], k: [Int], heads: Int, causal: Bool, mask: Bool)] = [
            ([2, 70, 80], [2, 70, 80], 2, true, false),     // heads of 40, two query blocks, causal
            ([1, 33, 128], [1, 100, 128], 2, false, true),  // heads of 64, a key mask
            ([3, 20, 16], [3, 9, 16], 2, false, false),     // heads of 8, fewer keys than a block
        ]
        for c in cases {
            let q = tensor(c.q, 7919), k = tensor(c.k, 104_729), v = tensor(c.k, 15_485_863)
            let mask = c.mask ? upload((0..<(c.k[0] * c.k[1])).map { $0 % 5 == 0 ? -Float.infinity : 0 },
                                       shape: [c.k[0], c.k[1]]) : nil
            let run = { self.attention(q: q, k: k, v: v, heads: c.heads, scale: 0.2, causal: c.causal, keyMask: mask) }
            let fast = run().toArray()
            usesCooperativeAttention = false
            let portable = run().toArray()
            usesCooperativeAttention = true
            let largest = portable.map(abs).max() ?? 0
            guard fast.count == portable.count,
                  zip(fast, portable).allSatisfy({ abs($0 - $1) <= 1e-2 * max(1, largest) }) else { return false }
        }
        return true
    }

    /// Query rows and key block of the fused kernel for a head size, or nil
    /// when its tiles do not fit the device's shared memory.
    ///
    /// lavapipe (llvmpipe's shader compiler, which CI uses) ends any loop
    /// after 65535 iterations — counted over the whole invocation, not per
    /// entry — to stop runaway shaders. The fused kernel's inner loops run
    /// about keys·rows·headDim/128 times in all, so on CPU implementations the
    /// shape is chosen to stay below that, or the blocked path runs.
    func fusedBlocks(headDim: Int, keys totalKeys: Int) -> (rows: Int, keys: Int)? {
        guard headDim <= Self.fusedMaxHeadDim else { return nil }
        // More query rows per workgroup reuse each K/V block more; small heads
        // afford them. The first shape that fits shared memory wins.
        let candidates: [(Int, Int)] = headDim <= 64 ? [(64, 32), (32, 32), (16, 32), (16, 16), (16, 8)]
            : headDim <= 80 ? [(32, 32), (16, 32), (16, 16), (16, 8)]
            : [(16, 16), (16, 8)]
        for (rows, keys) in candidates {
            let bytes = 4 * (rows * headDim + 2 * keys * headDim + rows * keys) + 1024
            guard bytes <= info.maxSharedMemoryBytes else { continue }
            if info.kind == .cpu {
                let blocks = (totalKeys + keys - 1) / keys
                let perThread = (headDim + 128 / rows - 1) / (128 / rows)
                let dotIterations = blocks * ((rows * keys + 127) / 128) * headDim
                let accumulateIterations = blocks * keys * perThread
                let loadIterations = blocks * ((keys * headDim + 127) / 128)
                guard max(dotIterations, accumulateIterations, loadIterations) < 65535 else { continue }
            }
            return (rows, keys)
        }
        return nil
    }

    /// softmax(q·kᵀ·scale + mask)·v a block of queries of one head at a time.
    func blockedAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float,
                          causal: Bool, keyMask: Tensor?) -> Tensor {
        let (batch, queries, width) = (q.shape[0], q.shape[1], q.shape[2])
        let keys = k.shape[1], headDim = width / heads
        let out = makeTensor([batch, queries, width])
        let blockRows = max(1, min(queries, attentionScratchBytes / (4 * keys)))
        let scores = makeTensor([blockRows, keys])
        let softmaxPipeline = rowReduction("softmax\(subgroupSuffix)", width: keys)
        for b in 0..<batch {
            for h in 0..<heads {
                var q0 = 0
                while q0 < queries {
                    let rows = min(blockRows, queries - q0)
                    // S = scale · Q_block · K_hᵀ
                    var s = GEMM()
                    (s.m, s.n, s.k) = (rows, keys, headDim)
                    s.aOffset = (b * queries + q0) * width + h * headDim
                    (s.aRowStride, s.aColumnStride) = (width, 1)
                    s.bOffset = b * keys * width + h * headDim
                    (s.bRowStride, s.bColumnStride) = (1, width)
                    s.cRowStride = keys
                    s.alpha = scale
                    recordGEMM(s, a: .read(q.vulkanBuffer, bytes: q.byteCount), b: k, bias: nil,
                               c: .write(scores.vulkanBuffer, bytes: scores.byteCount), kind: .attention)
                    // Masked softmax in place.
                    recorder.dispatch(softmaxPipeline,
                                      [.read(scores.vulkanBuffer, bytes: scores.byteCount),
                                       .write(scores.vulkanBuffer, bytes: scores.byteCount),
                                       keyMask.map { .read($0.vulkanBuffer, bytes: $0.byteCount) } ?? .read(dummy, bytes: 0)],
                                      push: [UInt32(size: rows), UInt32(size: keys), keyMask == nil ? 0 : 1,
                                             UInt32(size: b * keys), causal ? 1 : 0, UInt32(size: q0)],
                                      groups: grid(rows, groupSize: 1))
                    // O_block = P · V_h, written into the head's columns.
                    var o = GEMM()
                    (o.m, o.n, o.k) = (rows, headDim, keys)
                    (o.aRowStride, o.aColumnStride) = (keys, 1)
                    o.bOffset = b * keys * width + h * headDim
                    (o.bRowStride, o.bColumnStride) = (width, 1)
                    o.cOffset = (b * queries + q0) * width + h * headDim
                    o.cRowStride = width
                    recordGEMM(o, a: .read(scores.vulkanBuffer, bytes: scores.byteCount), b: v, bias: nil,
                               c: .write(out.vulkanBuffer, bytes: out.byteCount), kind: .attention)
                    q0 += rows
                }
            }
        }
        return out
    }
}
