/// Ops as methods, so model code reads like the architecture diagram.
/// Each forwards to the tensor's backend.
extension Tensor {
    public func linear(_ weight: Tensor, _ bias: Tensor? = nil, activation: Activation? = nil,
                       adding residual: Tensor? = nil) -> Tensor {
        backend.linear(self, weight: weight, bias: bias, activation: activation, residual: residual)
    }

    public func matmul(_ other: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                       alpha: Float = 1) -> Tensor {
        backend.matmul(self, other, transposeA: transposeA, transposeB: transposeB, alpha: alpha)
    }

    public func conv2d(_ weight: Tensor, _ bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                       adding residual: Tensor? = nil) -> Tensor {
        backend.conv2d(self, weight: weight, bias: bias, stride: stride, padding: .same(padding), residual: residual)
    }

    public func conv2d(_ weight: Tensor, _ bias: Tensor? = nil, stride: Int = 1, padding: ConvPadding,
                       adding residual: Tensor? = nil) -> Tensor {
        backend.conv2d(self, weight: weight, bias: bias, stride: stride, padding: padding, residual: residual)
    }

    /// GroupNorm of self + `offsets` (per sample and channel, N × C).
    public func groupNorm(groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool = false,
                          adding offsets: Tensor? = nil) -> Tensor {
        backend.groupNorm(self, offsets: offsets, groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
    }

    public func layerNorm(weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        backend.layerNorm(self, weight: weight, bias: bias, eps: eps)
    }

    public func softmax() -> Tensor { backend.softmax(self) }

    public func activation(_ kind: Activation) -> Tensor { backend.activation(self, kind) }
    public func gelu() -> Tensor { activation(.gelu) }
    public func quickGelu() -> Tensor { activation(.quickGelu) }
    public func silu() -> Tensor { activation(.silu) }
    public func geglu() -> Tensor { backend.geglu(self) }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.backend.binary(a, b, .add) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.backend.binary(a, b, .sub) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.backend.binary(a, b, .mul) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.backend.affine(a, scale: s, shift: 0) }
    public func affine(scale: Float, shift: Float) -> Tensor { backend.affine(self, scale: scale, shift: shift) }

    public func upsampleNearest2x() -> Tensor { backend.upsampleNearest2x(self) }
    public func slice(rows: Range<Int>) -> Tensor { backend.slice(self, rows: rows) }
    public func permuted(_ axes: [Int]) -> Tensor { backend.permute(self, axes) }
    public func converted(to dtype: DType) -> Tensor {
        dtype == self.dtype ? self : backend.convert(self, to: dtype)
    }

    /// Concatenation along `axis` (negative counts from the end).
    public static func concat(_ xs: [Tensor], axis: Int) -> Tensor {
        precondition(!xs.isEmpty, "concat of no tensors")
        return xs[0].backend.concat(xs, axis: axis)
    }
}
