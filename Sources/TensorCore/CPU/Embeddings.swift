import Foundation

extension CPUBackend {
    public func embedding(_ ids: [Int32], table: Tensor) -> Tensor {
        return timed(.copies, "embedding") {
            precondition(table.rank == 2, "embedding: table \(table.shape)")
            let (vocabulary, width) = (table.shape[0], table.shape[1])
            let (out, y) = makeTensor([ids.count, width])
            // Tables may be kept in f16/bf16: widen just the rows taken.
            let rows = UnsafeRawPointer(table.rawBytes), rowBytes = width * table.dtype.byteSize
            for (i, id) in ids.enumerated() {
                precondition(id >= 0 && Int(id) < vocabulary, "embedding: id \(id) outside 0..<\(vocabulary)")
                HalfConversion.convert(from: rows + Int(id) * rowBytes, table.dtype, to: y + i * width, .f32,
                                       range: 0..<width)
            }
            return out
        }
    }

    public func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool,
                                  downscaleFreqShift: Float, maxPeriod: Float) -> Tensor {
        return timed(.elementwise, "timestep embedding") {
            let values = TimestepEmbedding.values(timesteps, dim: dim, flipSinToCos: flipSinToCos,
                                                  downscaleFreqShift: downscaleFreqShift, maxPeriod: maxPeriod)
            return upload(values, shape: [timesteps.count, dim])
        }
    }
}

/// diffusers' get_timestep_embedding, shared by the backends (a few hundred
/// values per step: every backend computes them on the host the same way).
enum TimestepEmbedding {
    /// Follows diffusers' get_timestep_embedding step by step in f32 (the
    /// exponent, the product, then sin/cos), so rounding matches the reference.
    static func values(_ timesteps: [Float], dim: Int, flipSinToCos: Bool,
                       downscaleFreqShift: Float, maxPeriod: Float) -> [Float] {
        let half = dim / 2
        var y = [Float](repeating: 0, count: timesteps.count * dim)
        let logPeriod = -Float(log(Double(maxPeriod)))
        let frequencies = (0..<half).map { i in
            expf(logPeriod * Float(i) / (Float(half) - downscaleFreqShift))
        }
        for (row, t) in timesteps.enumerated() {
            let target = row * dim
            for i in 0..<half {
                let angle = t * frequencies[i]
                let (sine, cosine) = (sinf(angle), cosf(angle))
                y[target + i] = flipSinToCos ? cosine : sine
                y[target + half + i] = flipSinToCos ? sine : cosine
            }
        }
        return y
    }
}
