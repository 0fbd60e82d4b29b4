/// Point-wise activations.
public enum Activation: String, Sendable, CaseIterable {
    /// x·Φ(x) with the exact erf, as torch.nn.functional.gelu's default.
    case gelu
    /// GELU's tanh approximation (gelu_new / gelu_pytorch_tanh).
    case geluTanh
    /// x·σ(1.702x), CLIP's activation.
    case quickGelu
    /// x·σ(x), also called swish.
    case silu
    /// BERT's pooler.
    case tanh
    /// max(x, 0), the tiny autoencoder's (TAESD) activation.
    case relu
}

/// Zero padding of a convolution's input. Usually the same on every side;
/// the VAE encoder's downsampler pads only the bottom and right.
public struct ConvPadding: Sendable, Equatable {
    public var top: Int, left: Int, bottom: Int, right: Int

    public init(top: Int, left: Int, bottom: Int, right: Int) {
        (self.top, self.left, self.bottom, self.right) = (top, left, bottom, right)
    }

    public static func same(_ n: Int) -> ConvPadding { ConvPadding(top: n, left: n, bottom: n, right: n) }
    public static let none = ConvPadding.same(0)
}

/// Blocks of rows whose widest intermediate takes at most `bytes`, but never
/// fewer than `minimumRows` rows (a block's products run below their full
/// rate with fewer).
public struct RowBlocking: Sendable, Equatable {
    public var bytes: Int
    public var minimumRows: Int

    public init(bytes: Int, minimumRows: Int) {
        precondition(bytes > 0 && minimumRows > 0, "RowBlocking: \(bytes) bytes, \(minimumRows) rows")
        (self.bytes, self.minimumRows) = (bytes, minimumRows)
    }
}

public enum BinaryOp: String, Sendable, CaseIterable {
    case add, sub, mul
}

/// The op interface every backend implements. Models call these through
/// `Tensor` methods and never learn which backend runs them.
///
/// Conventions: image tensors are NHWC; the last axis is the "feature" axis
/// for linear, norms, softmax and attention; weights keep PyTorch's layout
/// except convolution kernels, which are [Cout, kh, kw, Cin] (see `conv2d`).
public protocol Backend: AnyObject, Sendable {
    /// Human-readable device name, e.g. "CPU (OpenBLAS, 2 threads)".
    var name: String { get }
    /// The dtype weights should be stored in (model loaders ask; default f32).
    var preferredWeightDType: DType { get }
    /// The precision its matrix products run in (default f32): what an
    /// image's parameters record, since it changes the image for a seed.
    var matmulPrecision: MatmulPrecision { get }
    /// Whether ops read tensor values (false for a backend that only follows
    /// shapes, such as the FLOP counter: loaders then need invent none).
    var readsValues: Bool { get }
    /// The dtype a weight of `shape`, stored as `stored` in a checkpoint, is
    /// kept in on this backend (default: `preferredWeightDType`).
    func weightDType(storedAs stored: DType, shape: [Int]) -> DType
    /// How token-wise blocks bound their widest intermediate (a feed-forward's
    /// hidden layer): models run longer inputs through them in blocks of rows,
    /// as diffusers' forward chunking does. nil (the default): no limit — on a
    /// GPU each block would be another chain of dispatches.
    var rowBlocking: RowBlocking? { get }
    /// The working set of the stage about to run repeatedly (a UNet step), in
    /// bytes: a backend that caches freed buffers keeps at least this much,
    /// so the repeats reuse buffers instead of taking fresh pages. Default: nothing to do.
    func retainBuffers(forWorkingSet bytes: Int)

    // MARK: Memory
    /// A tensor with the given f32 values converted to `dtype`.
    func upload(_ values: UnsafeBufferPointer<Float>, shape: [Int], dtype: DType) -> Tensor
    /// A tensor from raw little-endian bytes of `dtype` (a checkpoint's bytes).
    func upload(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) -> Tensor
    func zeros(_ shape: [Int], dtype: DType) -> Tensor
    /// The values converted to f32 on the host.
    func download(_ tensor: Tensor) -> [Float]
    /// Waits until every op recorded so far has finished (a no-op on the CPU).
    func synchronize()

    // MARK: Linear algebra
    /// activation(x[..., K] · weightᵀ + bias) + residual, with weight [N, K]
    /// (PyTorch's nn.Linear layout), no activation for nil, `residual` nil or
    /// of the result's shape (a transformer's skip connection). Both are
    /// applied as the product is made where a backend can (the CPU's workers,
    /// each on its block of the result while it is in cache: a separate pass
    /// read BERT's 128 × 3072 GELU input back from memory, store-bound at 2.7%
    /// of its time), with the rounding of separate ops.
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, activation: Activation?, residual: Tensor?) -> Tensor
    /// Batched alpha · op(a) · op(b): a [B, M, K], b [B, K, N] (or [K, N], shared),
    /// where op transposes the last two axes when asked. Result [B, M, N].
    func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, alpha: Float) -> Tensor
    /// 2-D convolution of x [N, H, W, Cin] with weight [Cout, kh, kw, Cin], square
    /// kernel, zero padding, plus `residual` (nil, or of the result's shape: a
    /// ResNet block's skip connection) added after the bias as each output is
    /// made, with the rounding of a separate add. Result [N, Ho, Wo, Cout].
    func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: ConvPadding, residual: Tensor?) -> Tensor

    // MARK: Normalisation
    /// GroupNorm over x [N, ..., C] (channels last), optionally followed by SiLU.
    /// `offsets` (nil, or N × C) are added to every position of their sample
    /// first, with the rounding of a separate add: a ResNet block's timestep
    /// embedding, which diffusers adds to the first convolution's output just
    /// before the second norm.
    func groupNorm(_ x: Tensor, offsets: Tensor?, groups: Int, weight: Tensor, bias: Tensor, eps: Float,
                   silu: Bool) -> Tensor
    /// LayerNorm over the last axis.
    func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor
    /// Softmax over the last axis.
    func softmax(_ x: Tensor) -> Tensor

    // MARK: Attention
    /// softmax(q·kᵀ·scale + mask)·v per head. q [B, Lq, H·D], k and v [B, Lk, H·D]
    /// (the layout linear projections produce), result [B, Lq, H·D].
    /// `causal` masks keys after the query position; `keyMask` [B, Lk] is added
    /// to the scores (0 to keep, a large negative number to drop padding).
    func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float,
                   causal: Bool, keyMask: Tensor?) -> Tensor

    // MARK: Element-wise
    func activation(_ x: Tensor, _ kind: Activation) -> Tensor
    /// x[..., 2N] → x[..., :N] · GELU(x[..., N:]), diffusers' GEGLU.
    func geglu(_ x: Tensor) -> Tensor
    /// diffusers' GEGLU module: `geglu(linear(x, weight, bias))`, the
    /// projection [2N, K] and the gating as one op where a backend fuses them.
    func geglu(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor
    /// a ∘ b with NumPy broadcasting of b to a's shape (b's rank ≤ a's).
    func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor
    /// x · scale + shift.
    func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor

    // MARK: Layout
    /// Nearest-neighbour 2× upsampling of x [N, H, W, C].
    func upsampleNearest2x(_ x: Tensor) -> Tensor
    func concat(_ xs: [Tensor], axis: Int) -> Tensor
    /// Rows `range` of axis 0 (on the CPU a view of x's memory, not a copy).
    func slice(_ x: Tensor, rows: Range<Int>) -> Tensor
    func permute(_ x: Tensor, _ axes: [Int]) -> Tensor
    func convert(_ x: Tensor, to dtype: DType) -> Tensor

    // MARK: Embeddings
    /// Rows of table [V, D] for each id; result [ids.count, D].
    func embedding(_ ids: [Int32], table: Tensor) -> Tensor
    /// The sinusoidal timestep embedding of diffusers' get_timestep_embedding,
    /// result [timesteps.count, dim].
    func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool,
                           downscaleFreqShift: Float, maxPeriod: Float) -> Tensor

    // MARK: Device memory
    /// A GPU's memory and what sdgen holds there; nil for host backends.
    var deviceMemory: DeviceMemory? { get }

    // MARK: Profiling
    /// Starts timing every op (`--profile`): the GPU puts timestamps around
    /// each dispatch and runs them one at a time; the CPU reads the host clock
    /// around each op. Timing stays on until `endProfile`.
    func beginProfile()
    /// Waits for the work recorded so far and returns what was timed since `beginProfile`.
    func endProfile() -> OpProfile
}

extension Backend {
    public var deviceMemory: DeviceMemory? { nil }

    /// A backend without a clock of its own (the FLOP counter) times nothing.
    public func beginProfile() {}
    public func endProfile() -> OpProfile { OpProfile(clock: "none", entries: []) }

    /// The dtype weights should be stored in on this backend: f16 where a GPU
    /// stores weights in half precision, f32 everywhere else.
    public var preferredWeightDType: DType { .f32 }

    public var readsValues: Bool { true }

    public var rowBlocking: RowBlocking? { nil }

    public func retainBuffers(forWorkingSet bytes: Int) {}

    /// The projection, then the gating: what a backend that fuses nothing does.
    public func geglu(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        geglu(linear(x, weight: weight, bias: bias, activation: nil, residual: nil))
    }

    public var matmulPrecision: MatmulPrecision { .f32 }

    public func weightDType(storedAs stored: DType, shape: [Int]) -> DType { preferredWeightDType }

    public func upload(_ values: [Float], shape: [Int], dtype: DType = .f32) -> Tensor {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        return values.withUnsafeBufferPointer { upload($0, shape: shape, dtype: dtype) }
    }
}
