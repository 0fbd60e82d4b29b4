/// Ops that only move data: upsampling, concatenation, slicing, permutation.
extension CPUBackend {
    public func upsampleNearest2x(_ x: Tensor) -> Tensor {
        return timed(.copies, "upsample") {
            precondition(x.rank == 4, "upsampleNearest2x: expects NHWC, got \(x.shape)")
            let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
            let (out, y) = makeTensor([batch, height * 2, width * 2, channels])
            let input = x.floats
            parallelFor(batch * height, threads: threads, minimumPerThread: 4) { range in
                for row in range {
                    let source = input + row * width * channels
                    let target = y + row * 4 * width * channels
                    for xPos in 0..<width {
                        let pixel = source + xPos * channels
                        (target + (2 * xPos) * channels).update(from: pixel, count: channels)
                        (target + (2 * xPos + 1) * channels).update(from: pixel, count: channels)
                    }
                    (target + 2 * width * channels).update(from: target, count: 2 * width * channels)
                }
            }
            return out
        }
    }

    public func concat(_ xs: [Tensor], axis rawAxis: Int) -> Tensor {
        return timed(.copies, "concat") {
            let layout = ConcatLayout(xs.map(\.shape), axis: rawAxis)
            let (axis, shape, outer, inner) = (layout.axis, layout.shape, layout.outer, layout.inner)
            let (out, y) = makeTensor(shape)
            let rowLength = shape[axis] * inner
            let sources = UncheckedBox(xs.map { ($0.floats, $0.shape[axis] * inner) })
            parallelFor(outer, threads: threads, minimumPerThread: max(1, 16384 / max(rowLength, 1))) { range in
                for o in range {
                    var target = y + o * rowLength
                    for (pointer, length) in sources.value {
                        target.update(from: pointer + o * length, count: length)
                        target += length
                    }
                }
            }
            return out
        }
    }

    /// A view, no copy: the rows are contiguous, and no op writes into its inputs.
    public func slice(_ x: Tensor, rows: Range<Int>) -> Tensor {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= x.shape[0], "slice: \(rows) of \(x.shape)")
        guard let parent = x.storage as? CPUStorage else { preconditionFailure("\(x) is not on the CPU") }
        var shape = x.shape
        shape[0] = rows.count
        let rowBytes = x.count / max(x.shape[0], 1) * x.dtype.byteSize
        let view = CPUStorage(viewOf: parent, offset: rows.lowerBound * rowBytes, byteCount: rows.count * rowBytes)
        return Tensor(shape: shape, dtype: x.dtype, storage: view)
    }

    /// Any dtype: weights kept in f16/bf16 are permuted into the CPU's kernel layout at load.
    public func permute(_ x: Tensor, _ axes: [Int]) -> Tensor {
        return timed(.copies, "permute") {
            precondition(axes.sorted() == Array(0..<x.rank), "permute: \(axes) for rank \(x.rank)")
            let shape = axes.map { x.shape[$0] }
            var inputStrides = [Int](repeating: 1, count: x.rank)
            for axis in stride(from: x.rank - 2, through: 0, by: -1) {
                inputStrides[axis] = inputStrides[axis + 1] * x.shape[axis + 1]
            }
            let strides = axes.map { inputStrides[$0] }
            let storage = CPUStorage(backend: self, byteCount: x.count * x.dtype.byteSize)
            let out = Tensor(shape: shape, dtype: x.dtype, storage: storage)
            guard out.count > 0 else { return out }
            switch x.dtype.byteSize {
            case 4: gather(UInt32.self, from: x.rawBytes, to: storage.pointer, shape: shape, strides: strides)
            case 2: gather(UInt16.self, from: x.rawBytes, to: storage.pointer, shape: shape, strides: strides)
            default: preconditionFailure("permute: \(x.dtype)")
            }
            return out
        }
    }

    /// out[i₀, …, iₙ] = in[Σ iₖ·strides[k]] for elements of type T.
    private func gather<T>(_: T.Type, from source: UnsafeMutableRawPointer, to destination: UnsafeMutableRawPointer,
                           shape: [Int], strides: [Int]) {
        let input = source.assumingMemoryBound(to: T.self), y = destination.assumingMemoryBound(to: T.self)
        let innerSize = shape[shape.count - 1], innerStride = strides[strides.count - 1]
        let rows = shape.reduce(1, *) / innerSize
        parallelFor(rows, threads: threads, minimumPerThread: max(1, 16384 / innerSize)) { range in
            for row in range {
                var rest = row, offset = 0
                for axis in stride(from: shape.count - 2, through: 0, by: -1) {
                    offset += (rest % shape[axis]) * strides[axis]
                    rest /= shape[axis]
                }
                let target = y + row * innerSize
                for i in 0..<innerSize { target[i] = input[offset + i * innerStride] }
            }
        }
    }
}
