import TensorCore

/// The transformer encoder block all four networks share: self-attention,
/// optional cross-attention, feed-forward, each with a residual and a
/// LayerNorm placed before (CLIP, the UNet's BasicTransformerBlock) or after
/// (BERT) the sub-layer.
public struct TransformerBlock: Sendable {
    public enum NormPosition: Sendable { case pre, post }

    public let selfAttention: MultiHeadAttention
    public let selfAttentionNorm: LayerNorm
    public let crossAttention: MultiHeadAttention?
    public let crossAttentionNorm: LayerNorm?
    public let feedForward: FeedForward
    public let feedForwardNorm: LayerNorm
    public let normPosition: NormPosition

    public init(selfAttention: MultiHeadAttention, selfAttentionNorm: LayerNorm,
                crossAttention: (MultiHeadAttention, LayerNorm)? = nil,
                feedForward: FeedForward, feedForwardNorm: LayerNorm, normPosition: NormPosition) {
        self.selfAttention = selfAttention
        self.selfAttentionNorm = selfAttentionNorm
        self.crossAttention = crossAttention?.0
        self.crossAttentionNorm = crossAttention?.1
        self.feedForward = feedForward
        self.feedForwardNorm = feedForwardNorm
        self.normPosition = normPosition
    }

    /// x [B, L, width]; `context` feeds the cross-attention.
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, causal: Bool = false,
                               keyMask: Tensor? = nil) -> Tensor {
        switch normPosition {
        case .pre:
            var h = selfAttention(selfAttentionNorm(x), causal: causal, keyMask: keyMask, adding: x)
            if let crossAttention, let crossAttentionNorm, let context {
                h = crossAttention(crossAttentionNorm(h), context: context, adding: h)
            }
            return feedForward(feedForwardNorm(h), adding: h)
        case .post:
            var h = selfAttentionNorm(selfAttention(x, causal: causal, keyMask: keyMask, adding: x))
            if let crossAttention, let crossAttentionNorm, let context {
                h = crossAttentionNorm(crossAttention(h, context: context, adding: h))
            }
            return feedForwardNorm(feedForward(h, adding: h))
        }
    }
}
