/// Activations, GEGLU, broadcasting binary ops and affine maps.
extension VulkanBackend {
    public func activation(_ x: Tensor, _ kind: Activation) -> Tensor {
        unary(x, code: Self.activationCode(kind), scale: 1, shift: 0)
    }

    /// common.glsl's `activate` code of an activation (unary.comp takes 5 as its affine map).
    static func activationCode(_ kind: Activation) -> UInt32 {
        switch kind {
        case .gelu: 0
        case .geluTanh: 1
        case .quickGelu: 2
        case .silu: 3
        case .tanh: 4
        case .relu: 6
        }
    }

    public func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor {
        unary(x, code: 5, scale: scale, shift: shift)
    }

    private func unary(_ x: Tensor, code: UInt32, scale: Float, shift: Float) -> Tensor {
        let input = f32(x)
        let out = makeTensor(x.shape)
        for w in windows(units: x.count, unitBytes: [4, 4]) {
            dispatch1D("unary", [window(input.vulkanBuffer, w, unitBytes: 4, write: false),
                                 window(out.vulkanBuffer, w, unitBytes: 4, write: true)],
                       push: [UInt32(size: w.count), code, scale.pushBits, shift.pushBits], count: w.count)
        }
        return out
    }

    public func geglu(_ x: Tensor) -> Tensor {
        let width = x.dim(-1)
        precondition(width % 2 == 0, "geglu: odd last dimension \(width)")
        let input = f32(x)
        let half = width / 2
        let out = makeTensor(Array(x.shape.dropLast()) + [half])
        for rows in windows(units: out.count / max(half, 1), unitBytes: [4 * width, 4 * half]) {
            dispatch1D("geglu", [window(input.vulkanBuffer, rows, unitBytes: 4 * width, write: false),
                                 window(out.vulkanBuffer, rows, unitBytes: 4 * half, write: true)],
                       push: [UInt32(size: rows.count * half), UInt32(size: half)], count: rows.count * half)
        }
        return out
    }

    public func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
        let (shape, strides) = Self.broadcastLayout(a.shape, b.shape)
        let (pa, pb) = (f32(a), f32(b))
        let out = makeTensor(a.shape)
        let code: UInt32 = op == .add ? 0 : (op == .sub ? 1 : 2)
        let layout = (0..<6).map { $0 < shape.count ? UInt32(size: shape[$0]) : 1 }
            + (0..<6).map { $0 < strides.count ? UInt32(size: strides[$0]) : 0 }
        // b of a's shape is windowed with a; a broadcast b is bound whole and
        // indexed from the window's first element.
        let sameShape = shape.isEmpty
        for w in windows(units: a.count, unitBytes: [4, 4] + (sameShape ? [4] : [])) {
            let b = sameShape ? window(pb.vulkanBuffer, w, unitBytes: 4, write: false) : .read(pb.vulkanBuffer, bytes: pb.byteCount)
            dispatch1D("binary", [window(pa.vulkanBuffer, w, unitBytes: 4, write: false), b,
                                  window(out.vulkanBuffer, w, unitBytes: 4, write: true)],
                       push: [UInt32(size: w.count), code, UInt32(shape.count)] + layout + [UInt32(size: w.lowerBound)],
                       count: w.count)
        }
        return out
    }

    /// a's shape collapsed to as few axes as possible, with b's stride per
    /// axis (0 where b is broadcast). Empty when b has a's shape.
    static func broadcastLayout(_ a: [Int], _ b: [Int]) -> (shape: [Int], bStrides: [Int]) {
        precondition(b.count <= a.count, "cannot broadcast \(b) to \(a)")
        let padded = Array(repeating: 1, count: a.count - b.count) + b
        for (x, y) in zip(a, padded) { precondition(y == x || y == 1, "cannot broadcast \(b) to \(a)") }
        if padded == a { return ([], []) }
        var strides = [Int](repeating: 0, count: a.count)
        var step = 1
        for axis in stride(from: a.count - 1, through: 0, by: -1) {
            strides[axis] = padded[axis] == 1 ? 0 : step
            step *= padded[axis]
        }
        // Merge neighbouring axes that b walks the same way (both contiguous
        // with each other, or both broadcast); drop size-1 axes.
        var shape: [Int] = [], bStrides: [Int] = []
        for axis in 0..<a.count where a[axis] != 1 {
            if let lastSize = shape.last, let lastStride = bStrides.last,
               (lastStride == 0 && strides[axis] == 0) || (lastStride == strides[axis] * a[axis] && strides[axis] != 0) {
                shape[shape.count - 1] = lastSize * a[axis]
                bStrides[bStrides.count - 1] = strides[axis]
                continue
            }
            shape.append(a[axis])
            bStrides.append(strides[axis])
        }
        if shape.isEmpty { return ([1], [0]) }
        precondition(shape.count <= 6, "binary: broadcasting \(b) to \(a) needs more than 6 axes")
        return (shape, bStrides)
    }
}
