import TensorCore

/// Halves the resolution with a stride-2 3×3 convolution. The VAE encoder
/// pads only bottom and right (its checkpoints were trained that way).
public struct Downsample2D: Sendable {
    public let conv: Conv2d

    public init(_ w: Weights, channels: Int, padding: ConvPadding = .same(1)) throws {
        conv = try Conv2d(w("conv"), input: channels, output: channels, kernel: 3, stride: 2, padding: padding)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }
}

/// Doubles the resolution: nearest-neighbour, then a 3×3 convolution.
public struct Upsample2D: Sendable {
    public let conv: Conv2d

    public init(_ w: Weights, channels: Int) throws {
        conv = try Conv2d(w("conv"), input: channels, output: channels, kernel: 3)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x.upsampleNearest2x()) }
}
