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

/// Doubles the resolution — or resizes to `size`, the next skip
/// connection's, where halving rounded up on the way down (diffusers'
/// `upsample_size`) — nearest-neighbour, then a 3×3 convolution.
public struct Upsample2D: Sendable {
    public let conv: Conv2d

    public init(_ w: Weights, channels: Int) throws {
        conv = try Conv2d(w("conv"), input: channels, output: channels, kernel: 3)
    }

    public func callAsFunction(_ x: Tensor, size: (height: Int, width: Int)? = nil) -> Tensor {
        guard let size else { return conv(x.upsampleNearest2x()) }
        return conv(x.resizedNearest(height: size.height, width: size.width))
    }
}
