import TensorCore

/// The VAE mid-block's self-attention over pixels: GroupNorm, one head as
/// wide as the channels, and a residual.
public struct VAEAttention: Sendable {
    public let norm: GroupNorm
    public let attention: MultiHeadAttention

    public init(_ w: Weights, channels: Int, groups: Int) throws {
        norm = try GroupNorm(w("group_norm"), channels: channels, groups: groups, eps: 1e-6)
        attention = try MultiHeadAttention(w, names: .diffusersBiased, width: channels, heads: 1)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        return attention(norm(x).reshaped([n, h * w, c]), adding: x.reshaped([n, h * w, c])).reshaped([n, h, w, c])
    }
}

/// UNetMidBlock2D without time embedding: ResNet, attention, ResNet.
public struct VAEMidBlock: Sendable {
    public let resnet1: ResnetBlock2D
    public let attention: VAEAttention?
    public let resnet2: ResnetBlock2D

    init(_ w: Weights, channels: Int, groups: Int, attention: Bool) throws {
        resnet1 = try ResnetBlock2D(w("resnets.0"), input: channels, output: channels, timeEmbedding: nil, groups: groups, eps: 1e-6)
        self.attention = attention ? try VAEAttention(w("attentions.0"), channels: channels, groups: groups) : nil
        resnet2 = try ResnetBlock2D(w("resnets.1"), input: channels, output: channels, timeEmbedding: nil, groups: groups, eps: 1e-6)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = resnet1(x)
        return resnet2(attention?(h) ?? h)
    }
}
