import TensorCore

/// diffusers' Transformer2DModel (the LDM SpatialTransformer): GroupNorm,
/// projection into tokens (1×1 conv in SD 1.x, linear in SD 2.x — the same
/// GEMM on NHWC data), BasicTransformerBlocks attending to the text, and the
/// projection back, added to the input.
public struct Transformer2DModel: Sendable {
    public let norm: GroupNorm
    public let projectIn: Linear
    public let blocks: [TransformerBlock]
    public let projectOut: Linear

    public init(_ w: Weights, channels: Int, heads: Int, depth: Int, contextWidth: Int,
                groups: Int) throws {
        norm = try GroupNorm(w("norm"), channels: channels, groups: groups, eps: 1e-6)
        // [C, C, 1, 1] conv kernels and [C, C] linear weights are the same matrix.
        projectIn = try Linear(w("proj_in"), input: channels, output: channels)
        projectOut = try Linear(w("proj_out"), input: channels, output: channels)
        blocks = try (0..<depth).map { i in
            let b = w("transformer_blocks")(i)
            return TransformerBlock(
                selfAttention: try MultiHeadAttention(b("attn1"), names: .diffusers, width: channels, heads: heads),
                selfAttentionNorm: try LayerNorm(b("norm1"), width: channels, eps: 1e-5),
                crossAttention: (try MultiHeadAttention(b("attn2"), names: .diffusers, width: channels,
                                                        contextWidth: contextWidth, heads: heads),
                                 try LayerNorm(b("norm2"), width: channels, eps: 1e-5)),
                feedForward: try FeedForward(up: b("ff.net.0.proj"), down: b("ff.net.2"), width: channels,
                                             hidden: 4 * channels, kind: .geglu),
                feedForwardNorm: try LayerNorm(b("norm3"), width: channels, eps: 1e-5),
                normPosition: .pre)
        }
    }

    /// x [N, H, W, C]; context [N, L, contextWidth].
    public func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var tokens = projectIn(norm(x).reshaped([n, h * w, c]))
        for block in blocks { tokens = block(tokens, context: context) }
        return projectOut(tokens, adding: x.reshaped([n, h * w, c])).reshaped([n, h, w, c])
    }
}
