import CBLAS
import Foundation
import TensorCore

/// Measurements behind design decisions (docs/layout.md): the GEMM wrapper
/// against OpenBLAS called directly, and the activation layout (NHWC vs
/// NCHW) on a ResNet block and a transformer block at SD 1.5's 64×64 latent.
/// Run in release: `swift run -c release microbench [gemm|layout]`.
@main
enum Microbench {
    static func main() {
        let what = CommandLine.arguments.dropFirst().first ?? "all"
        let environment = ProcessInfo.processInfo.environment
        // SDGEN_ATTENTION=unfused: the two GEMMs around a softmax, beside the fused kernel.
        var tuning = CPUBackend.Tuning()
        tuning.fusedAttention = environment["SDGEN_ATTENTION"] != "unfused"
        let backend = CPUBackend(threads: environment["SDGEN_THREADS"].flatMap { Int($0) },
                                 precision: environment["SDGEN_PRECISION"].flatMap { MatmulPrecision(rawValue: $0) }.flatMap { $0 == .f16 ? nil : $0 } ?? .f32,
                                 tuning: tuning)
        print("threads: \(backend.threads)")
        if what == "gemm" || what == "all" { gemm(backend) }
        if what == "rows" { rows(backend) }
        if what == "activations" { activations(backend) }
        if what == "layout" || what == "all" { layout(backend) }
        if what == "attention" || what == "all" { attention(backend) }
        if what == "conv" || what == "all" { convolution(backend) }
        if what == "half" || what == "all" { halfWeights(backend) }
    }

    /// Best of `repeats` wall-clock runs, in seconds.
    static func time(repeats: Int = 5, _ body: () -> Void) -> Double {
        body()
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    static func random(_ count: Int, scale: Float = 1) -> [Float] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) - 0.5) * scale
        }
    }

    // MARK: GEMM

    static func gemm(_ backend: CPUBackend) {
        print("OpenBLAS core: \(CPUKernelSet.openBLASCore); kernel sets here: "
              + CPUKernelSet.available.map(\.rawValue).joined(separator: ", "))
        // SD 1.5's 64×64-latent convolutions and projections, BERT-base's
        // products at 128 and 512 tokens, a deep-level product with few rows.
        let only = ProcessInfo.processInfo.environment["SDGEN_GEMM_ROWS_AT_LEAST"].flatMap { Int($0) } ?? 0
        let shapes = [(4096, 320, 2880), (4096, 2880, 320), (4096, 1280, 320), (8192, 320, 320), (8192, 2560, 320),
                      (128, 768, 768), (128, 3072, 768), (512, 768, 3072), (128, 1280, 11520),
                      // SDXL's transformer products at 512² (2 × 16² and 2 × 32² tokens) and 1024².
                      (512, 10240, 1280), (512, 1280, 1280), (512, 1280, 5120), (2048, 5120, 640), (2048, 1280, 1280),
                      // SD 1.5's attention projections at 32² and its chunked GEGLU at 64² and 32².
                      (2048, 640, 640), (1366, 2560, 320), (683, 5120, 640)]
        // avx512-bf16 differs from avx512 only in its bf16 products.
        let sets = CPUKernelSet.available.filter { ($0 == .avx512BF16) == (backend.precision == .bf16) }
        for (m, n, k) in shapes where m >= only {
            let flops = 2.0 * Double(m * n * k)
            let a = random(m * k), b = random(n * k)
            var c = [Float](repeating: 0, count: m * n)
            // OpenBLAS with its own threads, as a program calling it directly would run it
            // (sdgen keeps it single-threaded and splits products itself).
            openblas_set_num_threads(Int32(backend.threads))
            let direct = time {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1,
                            a, Int32(k), b, Int32(k), 0, &c, Int32(n))
            }
            openblas_set_num_threads(1)
            var line = String(format: "sgemm %5d×%4d×%5d  OpenBLAS direct %6.1f", m, n, k, flops / direct / 1e9)
            for kernels in sets {
                let cpu = CPUBackend(threads: backend.threads, precision: backend.precision, kernels: kernels)
                let x = cpu.upload(a, shape: [m, k]), w = cpu.upload(b, shape: [n, k])
                let wrapped = time { _ = x.linear(w) }
                let half = cpu.convert(w, to: .f16)
                let bias = cpu.upload(random(n), shape: [n])
                let withBias = time { _ = x.linear(w, bias) }
                let fromHalf = time { _ = x.linear(half) }
                let fromHalfWithBias = time { _ = x.linear(half, bias) }
                line += String(format: "   %@ %6.1f (+ bias %6.1f, f16 weights %6.1f, both %6.1f)", kernels.rawValue,
                               flops / wrapped / 1e9, flops / withBias / 1e9, flops / fromHalf / 1e9,
                               flops / fromHalfWithBias / 1e9)
            }
            print(line + " GFLOP/s")
        }
    }

    /// The own kernel's rate against the rows of A, at BERT's and CLIP's
    /// weight shapes (f16 weights, as loaded), on the backend's threads.
    /// SDGEN_ROWS_SHAPES="n,k;…" and SDGEN_ROWS_M="m,…" pick others (the
    /// UNet's: "1280,1280;640,640;320,320" and "512,2048,8192").
    static func rows(_ backend: CPUBackend) {
        let environment = ProcessInfo.processInfo.environment
        func numbers(_ text: Substring) -> [Int] { text.split(separator: ",").compactMap { Int($0) } }
        let shapes = environment["SDGEN_ROWS_SHAPES"].map { text in
            text.split(separator: ";").map(numbers).filter { $0.count == 2 }.map { ($0[0], $0[1]) }
        } ?? [(768, 768), (3072, 768), (768, 3072)]
        let rowCounts = environment["SDGEN_ROWS_M"].map { numbers(Substring($0)) } ?? [77, 128, 512, 2048]
        for (n, k) in shapes {
            var line = String(format: "N %4d K %4d:", n, k)
            for m in rowCounts {
                let x = backend.upload(random(m * k), shape: [m, k])
                let w = backend.convert(backend.upload(random(n * k), shape: [n, k]), to: .f16)
                let seconds = time(repeats: 20) { _ = x.linear(w) }
                // As in a model: each product's weight comes cold from memory.
                let weights = (0..<48).map { _ in backend.convert(backend.upload(random(n * k), shape: [n, k]), to: .f16) }
                let cold = time(repeats: 3) { for w in weights { _ = x.linear(w) } } / Double(weights.count)
                line += String(format: "  M %4d %5.1f (cold %5.1f)", m, 2.0 * Double(m * n * k) / seconds / 1e9,
                               2.0 * Double(m * n * k) / cold / 1e9)
            }
            print(line + " GFLOP/s")
        }
    }

    // MARK: Layout

    static func layout(_ backend: CPUBackend) {
        let (batch, side, channels) = (2, 64, 320)
        let pixels = side * side
        let input = random(batch * pixels * channels)
        let convWeight = random(channels * 9 * channels, scale: 0.05)
        let gamma = [Float](repeating: 1, count: channels), beta = [Float](repeating: 0, count: channels)

        // NHWC through the backend's ops.
        let x = backend.upload(input, shape: [batch, side, side, channels])
        let w = backend.upload(convWeight, shape: [channels, 3, 3, channels])
        let g = backend.upload(gamma, shape: [channels]), bt = backend.upload(beta, shape: [channels])
        let nhwcResnet = time(repeats: 3) {
            var h = x.groupNorm(groups: 32, weight: g, bias: bt, eps: 1e-5, silu: true)
            h = h.conv2d(w, padding: 1)
            h = h.groupNorm(groups: 32, weight: g, bias: bt, eps: 1e-5, silu: true)
            h = h.conv2d(w, padding: 1)
            _ = h + x
        }

        // NCHW: the same block with NCHW kernels (im2col rows are shifted
        // image rows; the GEMM is W[Cout, Cin·9] · col[Cin·9, HW]).
        let nchwResnet = time(repeats: 3) {
            var h = NCHW.groupNormSiLU(input, batch: batch, channels: channels, pixels: pixels, groups: 32)
            h = NCHW.conv3x3(h, convWeight, batch: batch, channels: channels, side: side)
            h = NCHW.groupNormSiLU(h, batch: batch, channels: channels, pixels: pixels, groups: 32)
            h = NCHW.conv3x3(h, convWeight, batch: batch, channels: channels, side: side)
            for i in h.indices { h[i] += input[i] }
        }
        print(String(format: "ResNet block 2×64×64×320:      NHWC %.3f s   NCHW %.3f s", nhwcResnet, nchwResnet))

        // Transformer block shell: GroupNorm, proj_in, (token work, the same in
        // both layouts), proj_out, residual. NHWC reads tokens in place; NCHW
        // needs [C, HW] ↔ [HW, C] either as transposes or transposed GEMMs.
        let proj = random(channels * channels, scale: 0.05)
        let projTensor = backend.upload(proj, shape: [channels, channels])
        let tokenWork = { (tokens: Tensor) -> Tensor in
            let q = tokens.linear(projTensor), k = tokens.linear(projTensor), v = tokens.linear(projTensor)
            return backend.attention(q: q, k: k, v: v, heads: 8, scale: 0.158, causal: false, keyMask: nil)
        }
        let nhwcTransformer = time(repeats: 2) {
            let h = x.groupNorm(groups: 32, weight: g, bias: bt, eps: 1e-6)
            let tokens = h.reshaped([batch, pixels, channels]).linear(projTensor)
            let out = tokenWork(tokens).linear(projTensor).reshaped([batch, side, side, channels])
            _ = out + x
        }
        let nchwTransformer = time(repeats: 2) {
            let h = NCHW.groupNormSiLU(input, batch: batch, channels: channels, pixels: pixels, groups: 32, silu: false)
            // proj_in: tokens[HW, C] = h[C, HW]ᵀ · Wᵀ, per image.
            var tokens = [Float](repeating: 0, count: h.count)
            for n in 0..<batch {
                h.withUnsafeBufferPointer { hp in tokens.withUnsafeMutableBufferPointer { tp in
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, Int32(pixels), Int32(channels), Int32(channels), 1,
                                hp.baseAddress! + n * pixels * channels, Int32(pixels), proj, Int32(channels), 0,
                                tp.baseAddress! + n * pixels * channels, Int32(channels))
                } }
            }
            let core = tokenWork(backend.upload(tokens, shape: [batch, pixels, channels])).toArray()
            // proj_out back to [C, HW]: out = W · coreᵀ.
            var out = [Float](repeating: 0, count: h.count)
            for n in 0..<batch {
                core.withUnsafeBufferPointer { cp in out.withUnsafeMutableBufferPointer { op in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(channels), Int32(pixels), Int32(channels), 1,
                                proj, Int32(channels), cp.baseAddress! + n * pixels * channels, Int32(channels), 0,
                                op.baseAddress! + n * pixels * channels, Int32(pixels))
                } }
            }
            for i in out.indices { out[i] += input[i] }
        }
        print(String(format: "Transformer block 2×4096×320:  NHWC %.3f s   NCHW %.3f s", nhwcTransformer, nchwTransformer))
    }
}

/// Just enough NCHW kernels to time the alternative layout fairly: the same
/// algorithms (two-pass GroupNorm, im2col + OpenBLAS) on NCHW data.
enum NCHW {
    static func groupNormSiLU(_ x: [Float], batch: Int, channels: Int, pixels: Int, groups: Int,
                              silu: Bool = true) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        let span = channels / groups * pixels
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            let xb = UnsafeMutablePointer(mutating: xp.baseAddress!), yb = yp.baseAddress!
            let work = UncheckedPointers(x: xb, y: yb)
            DispatchQueue.concurrentPerform(iterations: batch * groups) { task in
                let xs = work.x + task * span, ys = work.y + task * span
                var sum: Double = 0
                for i in 0..<span { sum += Double(xs[i]) }
                let mean = Float(sum / Double(span))
                var sq: Double = 0
                for i in 0..<span { let d = xs[i] - mean; sq += Double(d * d) }
                let rstd = Float(1 / (sq / Double(span) + 1e-5).squareRoot())
                for i in 0..<span {
                    let v = (xs[i] - mean) * rstd
                    ys[i] = silu ? v / (1 + expf(-v)) : v
                }
            }
        } }
        return y
    }

    static func conv3x3(_ x: [Float], _ w: [Float], batch: Int, channels: Int, side: Int) -> [Float] {
        let pixels = side * side, patch = channels * 9
        var col = [Float](repeating: 0, count: patch * pixels)
        var y = [Float](repeating: 0, count: batch * channels * pixels)
        for n in 0..<batch {
            x.withUnsafeBufferPointer { xp in col.withUnsafeMutableBufferPointer { cp in
                let work = UncheckedPointers(x: UnsafeMutablePointer(mutating: xp.baseAddress! + n * channels * pixels),
                                             y: cp.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: channels) { c in
                    for ky in 0..<3 { for kx in 0..<3 {
                        let row = work.y + ((c * 3 + ky) * 3 + kx) * pixels
                        for oy in 0..<side {
                            let iy = oy + ky - 1
                            let target = row + oy * side
                            if iy < 0 || iy >= side { target.update(repeating: 0, count: side); continue }
                            let source = work.x + c * pixels + iy * side
                            for ox in 0..<side {
                                let ix = ox + kx - 1
                                target[ox] = ix >= 0 && ix < side ? source[ix] : 0
                            }
                        }
                    } }
                }
            } }
            y.withUnsafeMutableBufferPointer { yp in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(channels), Int32(pixels), Int32(patch), 1,
                            w, Int32(patch), col, Int32(pixels), 0, yp.baseAddress! + n * channels * pixels, Int32(pixels))
            }
        }
        return y
    }
}

struct UncheckedPointers: @unchecked Sendable {
    let x: UnsafeMutablePointer<Float>
    let y: UnsafeMutablePointer<Float>
}

extension Microbench {
    /// SD 1.5's attentions (2 × 4096 tokens × 8 heads of 40 the largest), and
    /// BERT-base's at 4 × 512 and 1 × 128 (12 heads of 64, with a key mask).
    static func attention(_ backend: CPUBackend) {
        let shapes = [(2, 4096, 320, 8, 4096), (2, 4096, 320, 8, 2048), (2, 4096, 320, 8, 1024), (2, 4096, 320, 8, 77),
                      (2, 1024, 640, 8, 1024), (2, 4096, 512, 8, 4096), (4, 512, 768, 12, 512), (1, 128, 768, 12, 128)]
        for (batch, tokens, width, heads, keys) in shapes {
            let q = backend.upload(random(batch * tokens * width), shape: [batch, tokens, width])
            let k = backend.upload(random(batch * keys * width), shape: [batch, keys, width])
            let mask = heads == 12 ? backend.upload([Float](repeating: 0, count: batch * keys), shape: [batch, keys]) : nil
            let seconds = time(repeats: 2) {
                _ = backend.attention(q: q, k: k, v: k, heads: heads, scale: 0.158, causal: false, keyMask: mask)
            }
            let flops = 4.0 * Double(batch * tokens) * Double(keys) * Double(width)
            print(String(format: "attention %d×%d×%d, %d heads, %d keys: %.4f s  %.1f GFLOP/s",
                         batch, tokens, width, heads, keys, seconds, flops / seconds / 1e9))
        }
    }
}

extension Microbench {
    /// The 3×3 convolutions that dominate the VAE decoder and the UNet.
    static func convolution(_ backend: CPUBackend) {
        // In the backend's precision (SDGEN_PRECISION=bf16: direct products in bf16; Winograd's stay f32).
        let direct = CPUBackend(threads: backend.threads, convolution: .direct, precision: backend.precision)
        let winograd = CPUBackend(threads: backend.threads, convolution: .winograd, precision: backend.precision)
        // SDGEN_CONV_SHAPES="side,cin,cout,batch;…" picks others (SDXL's: 128,640,640,2;64,1280,1280,2).
        let chosen = ProcessInfo.processInfo.environment["SDGEN_CONV_SHAPES"].map { text in
            text.split(separator: ";").map { $0.split(separator: ",").compactMap { Int($0) } }.filter { $0.count == 4 }
        }
        let shapes = chosen?.map { ($0[0], $0[1], $0[2], $0[3]) }
            ?? [(512, 128, 128, 1), (256, 256, 256, 1), (128, 512, 512, 1), (64, 512, 512, 1),
                (64, 320, 320, 2), (32, 640, 640, 2), (16, 1280, 1280, 2), (8, 1280, 1280, 2)]
        for (side, cin, cout, batch) in shapes {
            let input = random(batch * side * side * cin), kernel = random(cout * 9 * cin, scale: 0.05)
            let flops = 2.0 * Double(batch * side * side) * Double(cout) * Double(9 * cin)
            var line = String(format: "conv3x3 %d×%d×%d → %d (batch %d):", side, side, cin, cout, batch)
            // Interleaved so a noisy neighbour hits both alike; GFLOP/s counts direct-convolution work.
            for b in [direct, winograd, direct, winograd] {
                let x = b.upload(input, shape: [batch, side, side, cin])
                // SDGEN_CONV_WEIGHTS=f16: kernels kept f16, as from the models' fp16 files.
                let f16 = ProcessInfo.processInfo.environment["SDGEN_CONV_WEIGHTS"] == "f16"
                let w = f16 ? b.convert(b.upload(kernel, shape: [cout, 3, 3, cin]), to: .f16)
                    : b.upload(kernel, shape: [cout, 3, 3, cin])
                let seconds = time(repeats: 2) { _ = x.conv2d(w, padding: 1) }
                line += String(format: "  %@ %.3f s (%.0f)", b.convolutionAlgorithm.rawValue, seconds, flops / seconds / 1e9)
            }
            print(line)
        }
    }
}

extension Microbench {
    /// `linear` with an f16 weight (widened as it is read) against the same
    /// weight in f32, at the text encoder's shapes and the UNet's at 64×64
    /// and 16×16 (docs/performance.md).
    static func halfWeights(_ backend: CPUBackend) {
        for (m, k, n) in [(154, 768, 768), (154, 768, 3072), (154, 3072, 768), (8192, 320, 2560), (512, 1280, 10240), (512, 5120, 1280)] {
            let x = backend.upload(random(m * k), shape: [m, k])
            let values = random(n * k, scale: 0.05)
            let single = backend.upload(values, shape: [n, k])
            let half = backend.upload(values, shape: [n, k], dtype: .f16)
            let flops = 2.0 * Double(m * n * k)
            var line = String(format: "linear %5d×%5d→%5d:", m, k, n)
            for (label, w) in [("f32", single), ("f16", half), ("f32", single), ("f16", half)] {
                let seconds = time(repeats: 5) { _ = x.linear(w) }
                line += String(format: "  %@ %.2f ms (%.0f)", label, seconds * 1000, flops / seconds / 1e9)
            }
            print(line)
        }
    }
}

extension Microbench {
    /// Element-wise activations at BERT-base's feed-forward width (128, 512
    /// and 2048 tokens × 3072) and SD's GEGLU (4096 × 2 × 1280 → 1280), in
    /// nanoseconds per output on the backend's threads.
    static func activations(_ backend: CPUBackend) {
        for rows in [128, 512, 2048] {
            let count = rows * 3072
            let x = backend.upload(random(count, scale: 6), shape: [rows, 3072])
            var line = String(format: "%4d × 3072:", rows)
            for kind in [Activation.gelu, .quickGelu, .silu] {
                let seconds = time(repeats: 20) { _ = x.activation(kind) }
                line += String(format: "  %@ %.3f ms (%.2f ns)", "\(kind)", seconds * 1000, seconds * 1e9 / Double(count))
            }
            print(line)
        }
        // GroupNorm with and without its SiLU, at the VAE's 256² level and the UNet's 64² one.
        for (batch, side, channels) in [(1, 256, 256), (2, 64, 320)] {
            let x = backend.upload(random(batch * side * side * channels, scale: 3), shape: [batch, side, side, channels])
            let g = backend.upload(random(channels, scale: 0.5), shape: [channels])
            let b = backend.upload(random(channels, scale: 0.1), shape: [channels])
            let plain = time(repeats: 5) { _ = x.groupNorm(groups: 32, weight: g, bias: b, eps: 1e-6) }
            let silu = time(repeats: 5) { _ = x.groupNorm(groups: 32, weight: g, bias: b, eps: 1e-6, silu: true) }
            print(String(format: "group norm %d × %d² × %d: %.2f ms, with SiLU %.2f ms", batch, side, channels,
                         plain * 1000, silu * 1000))
        }
        let gated = backend.upload(random(4096 * 2560, scale: 6), shape: [4096, 2560])
        let seconds = time(repeats: 5) { _ = gated.geglu() }
        print(String(format: "geglu 4096 × 2560 → 1280: %.3f ms (%.2f ns)", seconds * 1000, seconds * 1e9 / Double(4096 * 1280)))
    }
}
