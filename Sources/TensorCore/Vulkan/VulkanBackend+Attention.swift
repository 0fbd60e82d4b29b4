/// Attention. Head dims up to 160 (SD 1.5's 40/80/160, CLIP's and BERT's 64)
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
        if let (rows, block) = fusedBlocks(headDim: headDim, keys: keys) {
            let out = makeTensor([batch, queries, width])
            let push: [UInt32] = [UInt32(size: queries), UInt32(size: keys), UInt32(size: width), scale.pushBits,
                                  causal ? 1 : 0, mask == nil ? 0 : 1]
            let pipeline = pipelines.require("attention", specialization: [UInt32(headDim), UInt32(rows), UInt32(block)])
            precondition(heads <= 65535 && batch <= 65535, "attention: too many heads or batches for one dispatch")
            recorder.dispatch(pipeline, [.read(q.vulkanBuffer, bytes: q.byteCount), .read(k.vulkanBuffer, bytes: k.byteCount),
                                         .read(v.vulkanBuffer, bytes: v.byteCount),
                                         mask.map { .read($0.vulkanBuffer, bytes: $0.byteCount) } ?? .read(dummy, bytes: 0),
                                         .write(out.vulkanBuffer, bytes: out.byteCount)],
                              push: push, groups: ((queries + rows - 1) / rows, heads, batch),
                              label: { "attention \(queries)×\(keys), \(heads) heads of \(headDim)" },
                              flops: geometry.flops)
            return out
        }
        return blockedAttention(q: q, k: k, v: v, heads: heads, scale: scale, causal: causal, keyMask: mask)
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
        let softmaxPipeline = pipelines.require("softmax\(subgroupSuffix)")
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
