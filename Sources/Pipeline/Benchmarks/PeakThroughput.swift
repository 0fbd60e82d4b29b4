import TensorCore

/// The device's ceiling, which the benchmark tables' "% peak" divides by. On
/// the CPU, the arithmetic peak of its kernel set in the backend's precision
/// (`CPUPeak`: multiply-add loops on every worker), with the rate a large
/// square product reaches beside it; on the GPU, that product's rate (a
/// large square f32 GEMM through the backend's linear op).
public struct PeakThroughput: Sendable {
    public let flopsPerSecond: Double
    /// One line for the table's heading.
    public let summary: String

    public static func measure(on backend: any Backend, size: Int = 2048, runs: Int = 5) -> PeakThroughput {
        let product = productRate(on: backend, size: size, runs: runs)
        let productText = String(format: "%.1f GFLOP/s", product / 1e9)
        guard let cpu = backend as? CPUBackend else {
            return PeakThroughput(flopsPerSecond: product, summary: "sgemm peak \(productText)")
        }
        let peak = CPUPeak.measure(kernels: cpu.kernels, threads: cpu.threads)
        let ceiling = cpu.precision == .bf16 && cpu.hasNativeBFloat16 ? peak.bf16 ?? peak.f32 : peak.f32
        let share = String(format: "%.0f%%", 100 * product / ceiling)
        return PeakThroughput(flopsPerSecond: ceiling,
                              summary: "peak \(peak.summary) on \(peak.threads) threads; a \(size)² product \(productText) (\(share))")
    }

    private static func productRate(on backend: any Backend, size: Int, runs: Int) -> Double {
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
