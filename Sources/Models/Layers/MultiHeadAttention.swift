import Foundation
import TensorCore

/// Multi-head attention with its four projections, shared by CLIP, BERT, the
/// UNet's transformer blocks and the VAE's mid-block. Self-attention when no
/// context is given, cross-attention otherwise.
public struct MultiHeadAttention: Sendable {
    /// Checkpoint names of the projections, which each model family spells its own way.
    public struct Names: Sendable {
        public let query, key, value, output: String
        public let projectionBias: Bool

        public static let clip = Names(query: "q_proj", key: "k_proj", value: "v_proj", output: "out_proj", projectionBias: true)
        public static let bert = Names(query: "self.query", key: "self.key", value: "self.value",
                                       output: "output.dense", projectionBias: true)
        /// diffusers' Attention: to_q/to_k/to_v without bias (UNet) and to_out.0.
        public static let diffusers = Names(query: "to_q", key: "to_k", value: "to_v", output: "to_out.0", projectionBias: false)
        /// The VAE's attention has biased projections.
        public static let diffusersBiased = Names(query: "to_q", key: "to_k", value: "to_v", output: "to_out.0", projectionBias: true)
    }

    public let query, key, value, output: Linear
    public let heads: Int
    public let scale: Float

    public init(_ weights: Weights, names: Names, width: Int, contextWidth: Int? = nil, heads: Int) throws {
        guard heads > 0, width % heads == 0 else {
            throw ModelLoadError.invalidConfiguration("\(weights.prefix): width \(width) does not split into \(heads) heads")
        }
        let context = contextWidth ?? width
        query = try Linear(weights(names.query), input: width, output: width, bias: names.projectionBias)
        key = try Linear(weights(names.key), input: context, output: width, bias: names.projectionBias)
        value = try Linear(weights(names.value), input: context, output: width, bias: names.projectionBias)
        output = try Linear(weights(names.output), input: width, output: width)
        self.heads = heads
        scale = 1 / Float(width / heads).squareRoot()
    }

    /// x [B, L, width]; context [B, Lc, contextWidth] for cross-attention;
    /// `residual` (the block's skip connection, x's shape) added by the
    /// output projection.
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, causal: Bool = false,
                               keyMask: Tensor? = nil, adding residual: Tensor? = nil) -> Tensor {
        let source = context ?? x
        let attended = x.backend.attention(q: query(x), k: key(source), v: value(source), heads: heads,
                                           scale: scale, causal: causal, keyMask: keyMask)
        return output(attended, adding: residual)
    }
}
