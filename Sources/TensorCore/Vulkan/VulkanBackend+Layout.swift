import Foundation

/// Data movement (upsampling, concatenation, slicing, permutation) and the
/// embeddings.
extension VulkanBackend {
    public func upsampleNearest2x(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "upsampleNearest2x: expects NHWC, got \(x.shape)")
        let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let input = f32(x)
        let out = makeTensor([batch, height * 2, width * 2, channels])
        // Windows of input rows (each two output rows), samples run together:
        // output row r reads input row r / 2 across the whole batch.
        let inputRow = width * channels, outputRows = 4 * inputRow
        for rows in windows(units: batch * height, unitBytes: [4 * inputRow, 4 * outputRows]) {
            dispatch1D("upsample", [window(input.vulkanBuffer, rows, unitBytes: 4 * inputRow, write: false),
                                    window(out.vulkanBuffer, rows, unitBytes: 4 * outputRows, write: true)],
                       push: [UInt32(size: rows.count * outputRows), UInt32(size: rows.count), UInt32(size: width),
                              UInt32(size: channels)],
                       count: rows.count * outputRows)
        }
        return out
    }

    public func concat(_ xs: [Tensor], axis rawAxis: Int) -> Tensor {
        let layout = ConcatLayout(xs.map(\.shape), axis: rawAxis)
        let (axis, shape, outer, inner) = (layout.axis, layout.shape, layout.outer, layout.inner)
        let out = makeTensor(shape)
        let rowLength = shape[axis] * inner
        var offset = 0
        for x in xs {
            let input = f32(x)
            let length = x.shape[axis] * inner
            if outer == 1 {
                recorder.copy(from: .read(input.vulkanBuffer, bytes: input.byteCount), sourceOffset: 0,
                              to: .write(out.vulkanBuffer, bytes: out.byteCount), destinationOffset: offset * 4,
                              bytes: length * 4)
            } else {
                dispatch1D("copy2d", [.read(input.vulkanBuffer, bytes: input.byteCount),
                                      .write(out.vulkanBuffer, bytes: out.byteCount)],
                           push: [UInt32(size: outer * length), UInt32(size: length), UInt32(size: rowLength),
                                  UInt32(size: offset)],
                           count: outer * length)
            }
            offset += length
        }
        return out
    }

    public func slice(_ x: Tensor, rows: Range<Int>) -> Tensor {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= x.shape[0], "slice: \(rows) of \(x.shape)")
        var shape = x.shape
        shape[0] = rows.count
        let rowBytes = x.count / max(x.shape[0], 1) * x.dtype.byteSize
        let out = makeTensor(shape, dtype: x.dtype)
        recorder.copy(from: .read(x.vulkanBuffer, bytes: x.byteCount), sourceOffset: rows.lowerBound * rowBytes,
                      to: .write(out.vulkanBuffer, bytes: out.byteCount), destinationOffset: 0,
                      bytes: rows.count * rowBytes)
        return out
    }

    public func permute(_ x: Tensor, _ axes: [Int]) -> Tensor {
        precondition(axes.sorted() == Array(0..<x.rank), "permute: \(axes) for rank \(x.rank)")
        precondition(x.rank <= 6, "permute: rank \(x.rank) above 6")
        // 16-bit tensors (f16 conv weights laid out at load) keep their dtype.
        let sixteen = x.dtype != .f32 && device.halfStorage
        let input = sixteen ? x : f32(x)
        let shape = axes.map { x.shape[$0] }
        var inputStrides = [Int](repeating: 1, count: x.rank)
        for axis in stride(from: x.rank - 2, through: 0, by: -1) {
            inputStrides[axis] = inputStrides[axis + 1] * x.shape[axis + 1]
        }
        let strides = axes.map { inputStrides[$0] }
        let out = makeTensor(shape, dtype: input.dtype)
        var push: [UInt32] = [UInt32(size: out.count), UInt32(shape.count)]
        push += (0..<6).map { $0 < shape.count ? UInt32(size: shape[$0]) : 1 }
        push += (0..<6).map { $0 < strides.count ? UInt32(size: strides[$0]) : 0 }
        push.append(0)
        dispatch1D(sixteen ? "permute_16" : "permute", [.read(input.vulkanBuffer, bytes: input.byteCount), .write(out.vulkanBuffer, bytes: out.byteCount)],
                   push: push, count: out.count)
        return out
    }

    public func embedding(_ ids: [Int32], table: Tensor) -> Tensor {
        precondition(table.rank == 2, "embedding: table \(table.shape)")
        let (vocabulary, width) = (table.shape[0], table.shape[1])
        for id in ids { precondition(id >= 0 && Int(id) < vocabulary, "embedding: id \(id) outside 0..<\(vocabulary)") }
        let out = makeTensor([ids.count, width])
        guard !ids.isEmpty && width > 0 else { return out }
        let idTensor = makeTensor([ids.count], dtype: .f32)   // 4-byte slots holding Int32 ids
        ids.withUnsafeBytes { raw in stage(idTensor) { $0.copyMemory(from: raw.baseAddress!, byteCount: raw.count) } }
        let (suffix, operands) = weights([table])
        let rows = operands[0]!
        dispatch1D("embedding\(suffix)", [.read(idTensor.vulkanBuffer, bytes: idTensor.byteCount),
                                          .read(rows.vulkanBuffer, bytes: rows.byteCount),
                                          .write(out.vulkanBuffer, bytes: out.byteCount)],
                   push: [UInt32(size: out.count), UInt32(size: width)], count: out.count)
        return out
    }

    /// Computed on the host exactly as the CPU backend does (the same f32
    /// libm calls, so both backends agree bit for bit) and uploaded: a few
    /// hundred values per step.
    public func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool,
                                  downscaleFreqShift: Float, maxPeriod: Float) -> Tensor {
        let values = TimestepEmbedding.values(timesteps, dim: dim, flipSinToCos: flipSinToCos,
                                              downscaleFreqShift: downscaleFreqShift, maxPeriod: maxPeriod)
        return upload(values, shape: [timesteps.count, dim])
    }
}
