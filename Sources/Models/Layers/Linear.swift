import TensorCore

/// y = x·Wᵀ + b, W in PyTorch's [out, in] layout.
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ weights: Weights, input: Int, output: Int, bias: Bool = true) throws {
        weight = try weights.tensor("weight", shape: [output, input], allowReshape: true)
        self.bias = bias ? try weights.tensor("bias", shape: [output]) : nil
    }

    public var outputFeatures: Int { weight.shape[0] }

    /// activation(x·Wᵀ + b) + residual, both applied as the product is made where the backend can.
    public func callAsFunction(_ x: Tensor, activation: Activation? = nil, adding residual: Tensor? = nil) -> Tensor {
        x.linear(weight, bias, activation: activation, adding: residual)
    }

    /// GEGLU: the outputs' first half times GELU of the second (diffusers'
    /// GEGLU module), gated as the product is made where the backend can.
    public func gated(_ x: Tensor) -> Tensor { x.backend.geglu(x, weight: weight, bias: bias) }
}
