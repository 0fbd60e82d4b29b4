import TensorCore

/// The device's own matrix-multiply rate: the ceiling the benchmark tables
/// divide by. A large square f32 GEMM through the backend's linear op (on
/// the CPU, OpenBLAS with every worker thread).
public enum PeakThroughput {
    public static func measure(on backend: any Backend, size: Int = 2048, runs: Int = 5) -> Double {
        let x = backend.zeros([size, size], dtype: .f32)
        let w = backend.zeros([size, size], dtype: .f32)
        _ = x.linear(w)
        backend.synchronize()
        var best = Double.infinity
        for _ in 0..<runs {
            let watch = Stopwatch()
            _ = x.linear(w)
            backend.synchronize()
            best = min(best, watch.seconds)
        }
        return 2 * Double(size) * Double(size) * Double(size) / best
    }
}
