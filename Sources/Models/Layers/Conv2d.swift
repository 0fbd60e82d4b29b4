import TensorCore

/// A 2-D convolution on NHWC activations. Checkpoints store kernels as
/// PyTorch's [Cout, Cin, kh, kw]; they are laid out once at load as
/// [Cout, kh, kw, Cin], so each output pixel is one GEMM row.
public struct Conv2d: Sendable {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: ConvPadding

    public init(_ weights: Weights, input: Int, output: Int, kernel: Int, stride: Int = 1,
                padding: ConvPadding? = nil, bias: Bool = true) throws {
        let shape = [output, input, kernel, kernel]
        weight = kernel == 1
            ? try weights.tensor("weight", shape: shape, allowReshape: true).reshaped([output, 1, 1, input])
            : try weights.tensor("weight", shape: shape, permutedBy: [0, 2, 3, 1])
        self.bias = bias ? try weights.tensor("bias", shape: [output]) : nil
        self.stride = stride
        self.padding = padding ?? .same(kernel / 2)
    }

    public var outputChannels: Int { weight.shape[0] }

    /// The convolution, plus `residual` (of the output's shape) where given.
    public func callAsFunction(_ x: Tensor, adding residual: Tensor? = nil) -> Tensor {
        x.conv2d(weight, bias, stride: stride, padding: padding, adding: residual)
    }
}
