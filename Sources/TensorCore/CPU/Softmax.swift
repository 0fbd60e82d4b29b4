import Foundation

/// Numerically stable softmax over the last axis.
extension CPUBackend {
    public func softmax(_ x: Tensor) -> Tensor {
        return timed(.attention, "softmax") {
            let width = x.dim(-1), rows = x.count / max(width, 1)
            let (out, y) = makeTensor(x.shape)
            y.update(from: x.floats, count: x.count)
            parallelFor(rows, threads: threads, minimumPerThread: max(1, 4096 / max(width, 1))) { range in
                for r in range { softmaxRow(y + r * width, width) }
            }
            return out
        }
    }
}

/// In-place softmax of one row; a row of all −∞ becomes zeros rather than NaN.
@inline(__always)
func softmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int) {
    let inverse = exponentiateRow(row, n)
    var i = 0
    while i + vectorWidth <= n { storeVector(loadVector(row + i) * inverse, row + i); i += vectorWidth }
    while i < n { row[i] *= inverse; i += 1 }
}

/// Replaces a row by exp(x − max) and returns 1 / Σ, leaving the division to
/// the caller: attention applies it to the (narrower) output rows instead.
/// A row of all −∞ becomes zeros with a factor of 0.
@inline(__always)
func exponentiateRow(_ row: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    var maxVector = FloatVector(repeating: -.infinity)
    var i = 0
    while i + vectorWidth <= n { maxVector = pointwiseMaximum(maxVector, loadVector(row + i)); i += vectorWidth }
    var maximum = maxVector.max()
    while i < n { maximum = max(maximum, row[i]); i += 1 }
    if maximum == -.infinity {
        row.update(repeating: 0, count: n)
        return 0
    }
    var sumVector = FloatVector.zero
    i = 0
    while i + vectorWidth <= n {
        let e = vectorExp(loadVector(row + i) - maximum)
        storeVector(e, row + i)
        sumVector += e
        i += vectorWidth
    }
    var sum = sumVector.sum()
    while i < n { let e = expf(row[i] - maximum); row[i] = e; sum += e; i += 1 }
    return 1 / sum
}
