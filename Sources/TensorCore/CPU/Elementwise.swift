import CPUKernels
import Foundation

/// Activations, GEGLU, broadcasting binary ops and affine maps: memory-bound
/// loops, vectorised and split over the workers.
extension CPUBackend {
    static let elementwiseGrain = 1 << 14

    public func activation(_ x: Tensor, _ kind: Activation) -> Tensor {
        return timed(.elementwise, "activation") {
            let (out, y) = makeTensor(x.shape)
            let input = x.floats
            parallelFor(x.count, threads: threads, minimumPerThread: Self.elementwiseGrain) { range in
                applyActivation(kind, input + range.lowerBound, y + range.lowerBound, range.count)
            }
            return out
        }
    }

    public func geglu(_ x: Tensor) -> Tensor {
        return timed(.elementwise, "geglu") {
            let width = x.dim(-1)
            precondition(width % 2 == 0, "geglu: odd last dimension \(width)")
            let half = width / 2, rows = x.count / max(width, 1)
            let (out, y) = makeTensor(Array(x.shape.dropLast()) + [half])
            let input = x.floats
            parallelFor(rows, threads: threads, minimumPerThread: max(1, Self.elementwiseGrain / max(half, 1))) { range in
                for r in range {
                    let hidden = input + r * width
                    gelu(hidden + half, times: hidden, into: y + r * half, count: half)
                }
            }
            return out
        }
    }

    /// y = GELU(x) (erf form), times `multiplier` element-wise where given
    /// (GEGLU's hidden half), on the calling thread: sdgen's C loop for the
    /// widest vector unit (AVX2 is the least any build of sdgen runs on, so the
    /// generic set takes it too).
    func gelu(_ x: UnsafePointer<Float>, times multiplier: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
              count: Int) {
        if kernels >= .avx512 {
            sdgen_gelu_avx512(x, multiplier, y, count)
        } else {
            sdgen_gelu_avx2(x, multiplier, y, count)
        }
    }

    /// y = x·σ(slope·x) (SiLU, quick GELU) for `count` floats on this
    /// thread, x and y possibly the same, in C as `gelu`: as Swift SIMD8
    /// with a division it ran at half the speed (0.36 against 0.18 ns per
    /// value on two Zen 4 cores, `Microbench activations`).
    func sigmoidTimes(_ x: UnsafePointer<Float>, slope: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
        if kernels >= .avx512 {
            sdgen_sigmoid_times_avx512(x, slope, y, count)
        } else {
            sdgen_sigmoid_times_avx2(x, slope, y, count)
        }
    }

    public func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor {
        return timed(.elementwise, "affine") {
            let (out, y) = makeTensor(x.shape)
            let input = x.floats
            parallelFor(x.count, threads: threads, minimumPerThread: Self.elementwiseGrain) { range in
                var i = range.lowerBound
                while i + vectorWidth <= range.upperBound {
                    storeVector(loadVector(input + i) * scale + shift, y + i)
                    i += vectorWidth
                }
                while i < range.upperBound { y[i] = input[i] * scale + shift; i += 1 }
            }
            return out
        }
    }

    public func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
        return timed(.elementwise, "binary") {
            let plan = BroadcastPlan(a.shape, b.shape)
            let (out, y) = makeTensor(a.shape)
            let pa = a.floats, pb = b.floats
            let runs = a.count / max(plan.run, 1)
            parallelFor(runs, threads: threads, minimumPerThread: max(1, Self.elementwiseGrain / max(plan.run, 1))) { range in
                for r in range {
                    let offset = r * plan.run
                    let bOffset = plan.bOffset(ofRun: r)
                    if plan.bIsScalarPerRun {
                        binaryScalarRun(op, pa + offset, pb[bOffset], y + offset, plan.run)
                    } else {
                        binaryRun(op, pa + offset, pb + bOffset, y + offset, plan.run)
                    }
                }
            }
            return out
        }
    }
}

/// How b's elements line up with a's under NumPy broadcasting: a is walked in
/// contiguous runs over which b is either contiguous too or a single value.
struct BroadcastPlan {
    let run: Int
    let bIsScalarPerRun: Bool
    /// a's dimensions outside the run, and b's strides for them (0 = broadcast).
    private let outerShape: [Int]
    private let outerStrides: [Int]

    init(_ a: [Int], _ b: [Int]) {
        precondition(b.count <= a.count, "cannot broadcast \(b) to \(a)")
        let padded = Array(repeating: 1, count: a.count - b.count) + b
        for (x, y) in zip(a, padded) {
            precondition(y == x || y == 1, "cannot broadcast \(b) to \(a)")
        }
        var bStrides = [Int](repeating: 0, count: a.count)
        var step = 1
        for axis in stride(from: a.count - 1, through: 0, by: -1) {
            bStrides[axis] = padded[axis] == 1 ? 0 : step
            step *= padded[axis]
        }
        // The run: trailing axes where b matches a (contiguous in both), else
        // trailing axes where b is broadcast (one b value for the whole run).
        var split = a.count
        while split > 0 && (padded[split - 1] == a[split - 1] || a[split - 1] == 1) { split -= 1 }
        if split < a.count && a[split...].reduce(1, *) > 1 {
            run = a[split...].reduce(1, *)
            bIsScalarPerRun = false
        } else {
            split = a.count
            while split > 0 && padded[split - 1] == 1 { split -= 1 }
            run = max(1, a[split...].reduce(1, *))
            bIsScalarPerRun = true
        }
        outerShape = Array(a[..<split])
        outerStrides = Array(bStrides[..<split])
    }

    @inline(__always) func bOffset(ofRun index: Int) -> Int {
        var rest = index, offset = 0
        var axis = outerShape.count - 1
        while axis >= 0 {
            let size = outerShape[axis]
            offset += (rest % size) * outerStrides[axis]
            rest /= size
            axis -= 1
        }
        return offset
    }
}

@inline(__always)
func binaryRun(_ op: BinaryOp, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
               _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    switch op {
    case .add:
        while i + vectorWidth <= n { storeVector(loadVector(a + i) + loadVector(b + i), y + i); i += vectorWidth }
        while i < n { y[i] = a[i] + b[i]; i += 1 }
    case .sub:
        while i + vectorWidth <= n { storeVector(loadVector(a + i) - loadVector(b + i), y + i); i += vectorWidth }
        while i < n { y[i] = a[i] - b[i]; i += 1 }
    case .mul:
        while i + vectorWidth <= n { storeVector(loadVector(a + i) * loadVector(b + i), y + i); i += vectorWidth }
        while i < n { y[i] = a[i] * b[i]; i += 1 }
    }
}

@inline(__always)
func binaryScalarRun(_ op: BinaryOp, _ a: UnsafePointer<Float>, _ b: Float,
                     _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    switch op {
    case .add:
        while i + vectorWidth <= n { storeVector(loadVector(a + i) + b, y + i); i += vectorWidth }
        while i < n { y[i] = a[i] + b; i += 1 }
    case .sub:
        while i + vectorWidth <= n { storeVector(loadVector(a + i) - b, y + i); i += vectorWidth }
        while i < n { y[i] = a[i] - b; i += 1 }
    case .mul:
        while i + vectorWidth <= n { storeVector(loadVector(a + i) * b, y + i); i += vectorWidth }
        while i < n { y[i] = a[i] * b; i += 1 }
    }
}

extension CPUBackend {
    /// One thread's share of `activation`.
    func applyActivation(_ kind: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch kind {
        case .gelu:
            gelu(x, times: nil, into: y, count: n)
        case .geluTanh:
            for i in 0..<n {
                let v = x[i]
                y[i] = 0.5 * v * (1 + tanhf(0.7978845608028654 * (v + 0.044715 * v * v * v)))
            }
        case .tanh:
            for i in 0..<n { y[i] = tanhf(x[i]) }
        case .relu:
            var i = 0
            while i + vectorWidth <= n { storeVector(pointwiseMaximum(loadVector(x + i), FloatVector()), y + i); i += vectorWidth }
            while i < n { y[i] = max(x[i], 0); i += 1 }
        case .quickGelu:
            sigmoidTimes(x, slope: 1.702, into: y, count: n)
        case .silu:
            sigmoidTimes(x, slope: 1, into: y, count: n)
        }
    }
}
