/// Shape arithmetic and checks that every backend shares, one struct per op.

/// The shape arithmetic and checks of `conv2d`, shared by every backend:
/// NHWC input, [Cout, k, k, Cin] kernel, output size from stride and padding.
public struct ConvolutionGeometry: Sendable, Equatable {
    public let batch, height, width, inputChannels: Int
    public let outputChannels, kernel, stride: Int
    public let padding: ConvPadding
    public let outputHeight, outputWidth: Int

    public init(input: [Int], weight: [Int], stride: Int, padding: ConvPadding) {
        precondition(input.count == 4 && weight.count == 4, "conv2d: expects NHWC input and [Cout,kh,kw,Cin] weight")
        (batch, height, width, inputChannels) = (input[0], input[1], input[2], input[3])
        (outputChannels, kernel) = (weight[0], weight[1])
        precondition(weight[2] == kernel && weight[3] == inputChannels,
                     "conv2d: weight \(weight) for \(inputChannels) input channels")
        self.stride = stride
        self.padding = padding
        outputHeight = (height + padding.top + padding.bottom - kernel) / stride + 1
        outputWidth = (width + padding.left + padding.right - kernel) / stride + 1
        precondition(outputHeight > 0 && outputWidth > 0, "conv2d: \(height)×\(width) input too small")
    }

    public var outputShape: [Int] { [batch, outputHeight, outputWidth, outputChannels] }

    /// A bias of `outputChannels` and a residual of the output's shape, each where given.
    public func check(bias: [Int]?, residual: [Int]?) {
        if let bias { precondition(bias.reduce(1, *) == outputChannels, "conv2d: bias \(bias) for \(outputChannels) outputs") }
        if let residual {
            precondition(residual == outputShape, "conv2d: residual \(residual) for a result of \(outputShape)")
        }
    }

    /// Rows of the patch matrix: one per output pixel.
    public var outputPixels: Int { batch * outputHeight * outputWidth }
    /// Columns of the patch matrix.
    public var patch: Int { kernel * kernel * inputChannels }
    /// Multiply-adds ×2 of the direct convolution.
    public var flops: Double { 2 * Double(outputPixels) * Double(outputChannels) * Double(patch) }
    /// A 1×1, stride-1, unpadded convolution is a plain linear layer on NHWC data.
    public var isPointwise: Bool { kernel == 1 && stride == 1 && padding == .none }
}

/// The shape arithmetic and checks of `linear`, shared by every backend:
/// x [..., K] against a weight [N, K], a bias of N and a residual of the
/// result's shape where given.
public struct LinearGeometry: Sendable, Equatable {
    /// Rows of x (every axis but the last), K and N.
    public let rows, inputs, outputs: Int
    public let outputShape: [Int]

    public init(input: [Int], weight: [Int], bias: [Int]?, residual: [Int]?) {
        precondition(weight.count == 2 && input.last == weight[1], "linear: input \(input) does not match weight \(weight)")
        (inputs, outputs) = (weight[1], weight[0])
        rows = input.dropLast().reduce(1, *)
        outputShape = Array(input.dropLast()) + [outputs]
        if let bias { precondition(bias.reduce(1, *) == outputs, "linear: bias \(bias) for \(outputs) outputs") }
        if let residual { precondition(residual == outputShape, "linear: residual \(residual) for a result of \(outputShape)") }
    }

    /// Multiply-adds ×2.
    public var flops: Double { 2 * Double(rows) * Double(outputs) * Double(inputs) }
}

/// The shape checks of `groupNorm`, shared by every backend: x [N, ..., C]
/// (channels last), groups dividing C, γ and β of C, and per-sample channel
/// offsets of N × C ([N, C], or [N, 1, 1, C] as diffusers broadcasts them).
public struct GroupNormGeometry: Sendable, Equatable {
    /// Samples, positions per sample and channels.
    public let batch, rows, channels: Int

    public init(input: [Int], groups: Int, weight: [Int], bias: [Int], offsets: [Int]?) {
        precondition(input.count >= 2, "groupNorm: input \(input) has no channel axis")
        (batch, channels) = (input[0], input[input.count - 1])
        precondition(groups > 0 && channels % groups == 0, "groupNorm: \(channels) channels in \(groups) groups")
        precondition(weight.reduce(1, *) == channels && bias.reduce(1, *) == channels,
                     "groupNorm: affine \(weight), \(bias) for \(channels) channels")
        rows = input.dropFirst().dropLast().reduce(1, *)
        if let offsets {
            precondition(offsets.first == batch && offsets.last == channels
                         && offsets.reduce(1, *) == batch * channels,
                         "groupNorm: offsets \(offsets) for \(batch) samples of \(channels) channels")
        }
    }
}

/// The shape checks of `attention`, shared by every backend: q [B, Lq, H·D],
/// k and v [B, Lk, H·D], an optional key mask [B, Lk].
public struct AttentionGeometry: Sendable, Equatable {
    public let batch, queries, keys, width, heads: Int

    public init(q: [Int], k: [Int], v: [Int], heads: Int, keyMask: [Int]?) {
        precondition(q.count == 3 && k.count == 3 && v == k && q[0] == k[0], "attention: q \(q), k \(k), v \(v)")
        (batch, queries, width, keys) = (q[0], q[1], q[2], k[1])
        precondition(k[2] == width && heads > 0 && width % heads == 0, "attention: width \(width) for \(heads) heads")
        if let keyMask { precondition(keyMask == [batch, keys], "attention: key mask \(keyMask)") }
        self.heads = heads
    }

    public var headDim: Int { width / heads }
    public var outputShape: [Int] { [batch, queries, width] }
    /// Multiply-adds ×2 of Q·Kᵀ and P·V.
    public var flops: Double { 4 * Double(batch) * Double(queries) * Double(keys) * Double(width) }
}

/// The shape checks of batched `matmul`, shared by every backend:
/// op(a) [B, M, K] · op(b) [B, K, N] (b may be [K, N], shared by the batch).
public struct MatmulGeometry: Sendable, Equatable {
    public let batch, m, n, k: Int
    /// b's stored rows and columns, and its batch stride (0 when shared).
    public let bRows, bColumns, bBatchStride: Int

    public init(a: [Int], b: [Int], transposeA: Bool, transposeB: Bool) {
        precondition(a.count == 3 && (b.count == 3 || b.count == 2), "matmul: shapes \(a) × \(b)")
        batch = a[0]
        (m, k) = transposeA ? (a[2], a[1]) : (a[1], a[2])
        (bRows, bColumns) = (b[b.count - 2], b[b.count - 1])
        n = transposeB ? bRows : bColumns
        precondition((transposeB ? bColumns : bRows) == k, "matmul: inner sizes differ in \(a) × \(b)")
        precondition(b.count == 2 || b[0] == batch, "matmul: batch sizes differ")
        bBatchStride = b.count == 2 ? 0 : bRows * bColumns
    }

    public var outputShape: [Int] { [batch, m, n] }
}
