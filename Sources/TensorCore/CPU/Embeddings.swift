import Foundation

extension CPUBackend {
    public func embedding(_ ids: [Int32], table: Tensor) -> Tensor {
        precondition(table.rank == 2, "embedding: table \(table.shape)")
        let (vocabulary, width) = (table.shape[0], table.shape[1])
        let (out, y) = makeTensor([ids.count, width])
        let rows = table.floats
        for (i, id) in ids.enumerated() {
            precondition(id >= 0 && Int(id) < vocabulary, "embedding: id \(id) outside 0..<\(vocabulary)")
            (y + i * width).update(from: rows + Int(id) * width, count: width)
        }
        return out
    }

    /// Follows diffusers' get_timestep_embedding step by step in f32 (the
    /// exponent, the product, then sin/cos), so rounding matches the reference.
    public func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool,
                                  downscaleFreqShift: Float, maxPeriod: Float) -> Tensor {
        let half = dim / 2
        let (out, y) = makeTensor([timesteps.count, dim])
        let logPeriod = -Float(log(Double(maxPeriod)))
        let frequencies = (0..<half).map { i in
            expf(logPeriod * Float(i) / (Float(half) - downscaleFreqShift))
        }
        for (row, t) in timesteps.enumerated() {
            let target = y + row * dim
            for i in 0..<half {
                let angle = t * frequencies[i]
                let (sine, cosine) = (sinf(angle), cosf(angle))
                target[i] = flipSinToCos ? cosine : sine
                target[half + i] = flipSinToCos ? sine : cosine
            }
            if dim % 2 == 1 { target[dim - 1] = 0 }
        }
        return out
    }
}
