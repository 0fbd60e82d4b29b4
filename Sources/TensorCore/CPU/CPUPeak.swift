import CPUKernels
import Dispatch

/// This CPU's multiply-add ceiling for a kernel set, measured on all workers
/// at once with CPUKernels/peak.c's loops (nothing but independent
/// multiply-adds): what "% of peak" divides by, and what decides whether
/// bf16 products pay here.
public struct CPUPeak: Sendable {
    /// f32 FMA rate of the set's vector width (AVX-512 or AVX2), flop/s.
    public let f32: Double
    /// VDPBF16PS rate, flop/s, where the set has AVX-512 BF16.
    public let bf16: Double?
    public let threads: Int

    public init(f32: Double, bf16: Double?, threads: Int) {
        (self.f32, self.bf16, self.threads) = (f32, bf16, threads)
    }

    /// bf16 is worth its rounding only this much faster than f32.
    public static let bf16Advantage = 1.3

    /// Whether bf16 products run faster than f32 on this CPU: native and at
    /// least `bf16Advantage` × the f32 rate (Zen 4: 2×; Intel cores without
    /// AMX issue VDPBF16PS on one port, FMA on two: 1×).
    public var bf16Pays: Bool { bf16.map { $0 >= Self.bf16Advantage * f32 } ?? false }

    /// f32 FMA rate of one core above which its 512-bit FMAs are taken to run
    /// at full rate (Zen 5: 257 GFLOP/s, 64 flops a cycle) rather than as two
    /// 256-bit halves (Zen 4: 117, 32 a cycle): the two lie apart at any clock
    /// from 3.2 to 6 GHz.
    public static let fullRate512Threshold = 200e9

    /// Whether this CPU's 512-bit FMAs run at full rate, for one core's peak.
    public var fullRate512: Bool { f32 / Double(threads) >= Self.fullRate512Threshold }

    /// One core's peaks for `kernels`, measured once per process (~0.1 s):
    /// what decisions that depend on the bf16/f32 ratio read.
    public static func oneCore(_ kernels: CPUKernelSet) -> CPUPeak {
        oneCoreCache.withLock { cache in
            if let known = cache[kernels] { return known }
            let measured = measure(kernels: kernels, threads: 1, seconds: 0.02)
            cache[kernels] = measured
            return measured
        }
    }

    private static let oneCoreCache = Locked<[CPUKernelSet: CPUPeak]>([:])

    /// Measures for `kernels` on `threads` workers, each loop calibrated to
    /// run about `seconds`.
    public static func measure(kernels: CPUKernelSet, threads: Int, seconds: Double = 0.05) -> CPUPeak {
        let f32: Double = kernels >= .avx512
            ? rate(threads: threads, seconds: seconds, flopsPerIteration: 512, sdgen_peak_f32_avx512)
            : rate(threads: threads, seconds: seconds, flopsPerIteration: 192, sdgen_peak_f32_avx2)
        let bf16 = kernels == .avx512BF16
            ? rate(threads: threads, seconds: seconds, flopsPerIteration: 1024, sdgen_peak_bf16) : nil
        return CPUPeak(f32: f32, bf16: bf16, threads: threads)
    }

    /// "f32 FMA 330 GFLOP/s, bf16 331 GFLOP/s" (on `threads` workers together).
    public var summary: String {
        "f32 FMA \(Self.format(f32))" + (bf16.map { ", bf16 \(Self.format($0))" } ?? "")
    }

    public static func format(_ rate: Double) -> String { "\(Int((rate / 1e9).rounded())) GFLOP/s" }

    private static func rate(threads: Int, seconds: Double, flopsPerIteration: Double,
                             _ loop: @convention(c) (Int, Float) -> Float) -> Double {
        // Calibrate on one thread, then time all of them together.
        var iterations = 1 << 14
        while true {
            let elapsed = time(threads: 1, iterations: iterations, loop)
            if elapsed >= seconds / 8 || iterations >= 1 << 30 {
                iterations = max(1, Int(Double(iterations) * seconds / max(elapsed, 1e-9)))
                break
            }
            iterations *= 4
        }
        let elapsed = time(threads: threads, iterations: iterations, loop)
        return Double(threads) * Double(iterations) * flopsPerIteration / elapsed
    }

    private static func time(threads: Int, iterations: Int, _ loop: @convention(c) (Int, Float) -> Float) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: threads) { worker in
            _ = loop(iterations, 0.5 + Float(worker) * 1e-3)
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
