import TensorCore

/// diffusers' ResnetBlock2D: two GroupNorm-SiLU-conv stages, the timestep
/// embedding added between them (UNet only), and a 1×1 conv on the skip path
/// when the width changes.
public struct ResnetBlock2D: Sendable {
    public let norm1: GroupNorm
    public let conv1: Conv2d
    public let timeProjection: Linear?
    public let norm2: GroupNorm
    public let conv2: Conv2d
    public let shortcut: Conv2d?

    public init(_ w: Weights, input: Int, output: Int, timeEmbedding: Int?, groups: Int, eps: Float) throws {
        norm1 = try GroupNorm(w("norm1"), channels: input, groups: groups, eps: eps)
        conv1 = try Conv2d(w("conv1"), input: input, output: output, kernel: 3)
        timeProjection = try timeEmbedding.map { try Linear(w("time_emb_proj"), input: $0, output: output) }
        norm2 = try GroupNorm(w("norm2"), channels: output, groups: groups, eps: eps)
        conv2 = try Conv2d(w("conv2"), input: output, output: output, kernel: 3)
        shortcut = input == output ? nil : try Conv2d(w("conv_shortcut"), input: input, output: output, kernel: 1)
    }

    /// x [N, H, W, C]; `timeEmbedding` is SiLU(emb) [N, E], shared by all blocks.
    /// The shortcut is taken first and `x` consumed by the first norm, so a
    /// widening block's input (a skip concatenation up to 3× the output's
    /// width) is gone before the convolutions' working buffers are made.
    public func callAsFunction(_ x: consuming Tensor, timeEmbedding: Tensor? = nil) -> Tensor {
        let residual = if let shortcut { shortcut(x) } else { copy x }
        let h = conv1(norm1(consume x, silu: true))
        // The timestep embedding [N, C] is added to every position by the norm that follows.
        let t = timeEmbedding.flatMap { embedding in timeProjection.map { $0(embedding) } }
        return conv2(norm2(consume h, adding: t, silu: true), adding: residual)
    }
}
