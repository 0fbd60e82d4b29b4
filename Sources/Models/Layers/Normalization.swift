import TensorCore

/// GroupNorm over channels-last activations, optionally fused with the SiLU
/// that follows it in every ResNet block.
public struct GroupNorm: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let groups: Int
    public let eps: Float

    public init(_ weights: Weights, channels: Int, groups: Int, eps: Float) throws {
        guard channels % groups == 0 else {
            throw ModelLoadError.invalidConfiguration("\(weights.prefix): \(channels) channels cannot form \(groups) groups")
        }
        weight = try weights.tensor("weight", shape: [channels])
        bias = try weights.tensor("bias", shape: [channels])
        self.groups = groups
        self.eps = eps
    }

    /// GroupNorm(x + offsets), offsets per sample and channel ([N, C]).
    public func callAsFunction(_ x: Tensor, adding offsets: Tensor? = nil, silu: Bool = false) -> Tensor {
        x.groupNorm(groups: groups, weight: weight, bias: bias, eps: eps, silu: silu, adding: offsets)
    }
}

/// LayerNorm over the last axis.
public struct LayerNorm: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(_ weights: Weights, width: Int, eps: Float) throws {
        weight = try weights.tensor("weight", shape: [width])
        bias = try weights.tensor("bias", shape: [width])
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}
