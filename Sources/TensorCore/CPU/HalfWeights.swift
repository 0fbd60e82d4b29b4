/// Weights kept in f16 or bf16 (`weightDType(storedAs:shape:)`) are widened
/// to f32 as the op that uses them runs: a block of rows at a time into one
/// recycled buffer, so the f32 copy of a weight never exists whole and the
/// buffer stays in cache for the GEMM that reads it. Widening is exact.
extension CPUBackend {
    /// Calls `body` with consecutive blocks of rows of a [rows, rowLength]
    /// weight as f32: the weight itself when it is f32, else each block
    /// widened into the same buffer.
    func withWidenedRows(_ weight: Tensor, rowLength: Int,
                         _ body: (UnsafePointer<Float>, Range<Int>) -> Void) {
        let rows = weight.count / max(rowLength, 1)
        if weight.dtype == .f32 { body(weight.floats, 0..<rows); return }
        let blockRows = max(1, min(rows, tuning.widenedBlockBytes / (4 * max(rowLength, 1))))
        // Always the same size, so the pool hands back the same buffer every time.
        let (scratch, buffer) = makeTensor([max(tuning.widenedBlockBytes / 4, rowLength)])
        let elementBytes = weight.dtype.byteSize
        for start in stride(from: 0, to: rows, by: blockRows) {
            let block = start..<min(rows, start + blockRows)
            convertElements(from: weight.rawBytes + start * rowLength * elementBytes, weight.dtype,
                            to: buffer, .f32, count: block.count * rowLength)
            body(buffer, block)
        }
        withExtendedLifetime(scratch) {}
    }
}

/// A vector of the elements `stride` apart from `index`, widened to f32:
/// one lane per row of a row-major weight.
@inline(__always)
func loadStrided(_ base: UnsafeRawPointer, _ dtype: DType, at index: Int, stride: Int) -> FloatVector {
    var v = FloatVector()
    switch dtype {
    case .f32:
        let p = base.assumingMemoryBound(to: Float.self) + index
        for lane in 0..<vectorWidth { v[lane] = p[lane * stride] }
    case .f16:
        let p = base.assumingMemoryBound(to: Float16.self) + index
        var h = SIMD8<Float16>()
        for lane in 0..<vectorWidth { h[lane] = p[lane * stride] }
        v = FloatVector(h)
    case .bf16:
        let p = base.assumingMemoryBound(to: UInt16.self) + index
        var bits = SIMD8<UInt32>()
        for lane in 0..<vectorWidth { bits[lane] = UInt32(p[lane * stride]) }
        v = unsafeBitCast(bits &<< 16, to: FloatVector.self)
    }
    return v
}

/// Eight consecutive weight values as f32, whatever the weight's dtype.
@inline(__always)
func loadWidened(_ base: UnsafeRawPointer, _ dtype: DType, at index: Int) -> FloatVector {
    switch dtype {
    case .f32:
        return (base + 4 * index).loadUnaligned(as: FloatVector.self)
    case .f16:
        return FloatVector((base + 2 * index).loadUnaligned(as: SIMD8<Float16>.self))
    case .bf16:
        let bits = SIMD8<UInt32>(truncatingIfNeeded: (base + 2 * index).loadUnaligned(as: SIMD8<UInt16>.self))
        return unsafeBitCast(bits &<< 16, to: FloatVector.self)
    }
}
