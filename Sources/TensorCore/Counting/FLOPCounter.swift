/// A backend that computes nothing: every op returns a tensor of the right
/// shape and adds its arithmetic to a tally. Running a model on it counts
/// the model's FLOPs from its own layer shapes (a multiply-add counts 2).
///
/// Only the matrix work is counted, by kind; element-wise ops and norms are a
/// rounding error next to it (under 1% for the UNet and BERT).
///
/// It also follows memory: the bytes of the tensors alive at once (a tensor
/// dies when the model drops it, as on a real backend) and their peak, with
/// each attention's score blocks on top while it runs — the activation
/// memory a run of the model needs, for admission before the real run.
public final class FLOPCounter: Backend, @unchecked Sendable {
    public struct Tally: Sendable, Equatable {
        public var convolution: Double = 0
        public var linear: Double = 0
        public var attention: Double = 0
        public var total: Double { convolution + linear + attention }
    }

    public private(set) var tally = Tally()
    /// Bytes of the tensors alive now, and the most alive at once since `resetPeak`.
    public private(set) var liveBytes = 0
    public private(set) var peakBytes = 0
    /// The largest tensor an op must see whole: a GPU kernel binds it at
    /// once, so it must fit the device's binding limit (ops that split
    /// large tensors into windows — VulkanBackend+Windows — are not counted,
    /// except for the operands they bind whole: weights, a broadcast b).
    public private(set) var largestWholeBytes = 0
    /// Score-block bytes an attention holds while it runs (CPU: a few
    /// blocks of queries × keys per worker; nil counts whole score matrices, one head at a time).
    public var attentionScratchLimit: Int?

    public init() {}

    public var name: String { "FLOP counter" }
    public var readsValues: Bool { false }

    public func reset() { tally = Tally() }

    /// Starts a new peak from what is alive now.
    public func resetPeak() { peakBytes = liveBytes }

    private final class ShapeOnly: TensorStorage, @unchecked Sendable {
        let counter: FLOPCounter
        let byteCount: Int
        var backend: any Backend { counter }
        init(_ counter: FLOPCounter, _ byteCount: Int) {
            self.counter = counter
            self.byteCount = byteCount
            counter.allocated(byteCount)
        }
        deinit { counter.liveBytes -= byteCount }
    }

    private func allocated(_ bytes: Int) {
        liveBytes += bytes
        peakBytes = max(peakBytes, liveBytes)
    }

    private func whole(_ tensors: Tensor?...) {
        for t in tensors.compactMap({ $0 }) { largestWholeBytes = max(largestWholeBytes, t.byteCount) }
    }

    private func make(_ shape: [Int], _ dtype: DType = .f32) -> Tensor {
        Tensor(shape: shape, dtype: dtype, storage: ShapeOnly(self, shape.reduce(1, *) * dtype.byteSize))
    }

    public func upload(_ values: UnsafeBufferPointer<Float>, shape: [Int], dtype: DType) -> Tensor { make(shape, dtype) }
    public func upload(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) -> Tensor { make(shape, dtype) }
    public func zeros(_ shape: [Int], dtype: DType) -> Tensor { make(shape, dtype) }
    public func download(_ tensor: Tensor) -> [Float] { Array(repeating: 0, count: tensor.count) }
    public func synchronize() {}

    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, activation: Activation?, residual: Tensor?) -> Tensor {
        let g = LinearGeometry(input: x.shape, weight: weight.shape, bias: bias?.shape, residual: residual?.shape)
        tally.linear += g.flops
        whole(weight, bias)
        return make(g.outputShape)
    }

    public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, alpha: Float) -> Tensor {
        let g = MatmulGeometry(a: a.shape, b: b.shape, transposeA: transposeA, transposeB: transposeB)
        tally.linear += 2 * Double(g.batch * g.m) * Double(g.n) * Double(g.k)
        let out = make(g.outputShape)
        whole(a, b, out)
        return out
    }

    public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: ConvPadding,
                       residual: Tensor?) -> Tensor {
        let g = ConvolutionGeometry(input: x.shape, weight: weight.shape, stride: stride, padding: padding)
        g.check(bias: bias?.shape, residual: residual?.shape)
        tally.convolution += g.flops
        whole(weight, bias)
        return make(g.outputShape)
    }

    public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float, causal: Bool, keyMask: Tensor?) -> Tensor {
        let geometry = AttentionGeometry(q: q.shape, k: k.shape, v: v.shape, heads: heads, keyMask: keyMask?.shape)
        tally.attention += geometry.flops
        // In Double: a whole score matrix of a huge image overflows Int.
        let scores = 4 * Double(q.shape[0]) * Double(q.shape[1]) * Double(k.shape[1])
        let held = min(scores, Double(attentionScratchLimit ?? Int.max), Double(Int.max / 4))
        peakBytes = max(peakBytes, liveBytes + Int(held))
        let out = make(geometry.outputShape)
        whole(q, k, v, out, keyMask)
        return out
    }

    public func groupNorm(_ x: Tensor, offsets: Tensor?, groups: Int, weight: Tensor, bias: Tensor, eps: Float,
                          silu: Bool) -> Tensor {
        _ = GroupNormGeometry(input: x.shape, groups: groups, weight: weight.shape, bias: bias.shape,
                              offsets: offsets?.shape)
        return make(x.shape)
    }
    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        whole(x)
        return make(x.shape)
    }
    public func softmax(_ x: Tensor) -> Tensor {
        whole(x)
        return make(x.shape)
    }
    public func activation(_ x: Tensor, _ kind: Activation) -> Tensor { make(x.shape) }
    public func geglu(_ x: Tensor) -> Tensor { make(Array(x.shape.dropLast()) + [x.dim(-1) / 2]) }
    public func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
        if b.shape != a.shape { whole(b) }
        return make(a.shape)
    }
    public func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor { make(x.shape) }

    public func upsampleNearest2x(_ x: Tensor) -> Tensor {
        make([x.shape[0], x.shape[1] * 2, x.shape[2] * 2, x.shape[3]])
    }

    public func concat(_ xs: [Tensor], axis: Int) -> Tensor {
        let out = make(ConcatLayout(xs.map(\.shape), axis: axis).shape)
        whole(out)
        return out
    }

    public func slice(_ x: Tensor, rows: Range<Int>) -> Tensor {
        var shape = x.shape
        shape[0] = rows.count
        return make(shape)
    }

    public func permute(_ x: Tensor, _ axes: [Int]) -> Tensor {
        whole(x)
        return make(axes.map { x.shape[$0] })
    }
    public func convert(_ x: Tensor, to dtype: DType) -> Tensor {
        whole(x)
        return make(x.shape, dtype)
    }
    public func embedding(_ ids: [Int32], table: Tensor) -> Tensor {
        whole(table)
        return make([ids.count, table.shape[1]])
    }

    public func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool,
                                  downscaleFreqShift: Float, maxPeriod: Float) -> Tensor {
        make([timesteps.count, dim])
    }
}
