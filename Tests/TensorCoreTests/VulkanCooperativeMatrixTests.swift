import Foundation
import TensorCore
import TestSupport
import XCTest

/// The matrix-unit kernels (gemm_coopmat.comp in both tile shapes,
/// attention_coopmat.comp in every head-size variant) against the CPU.
///
/// They run where the device has VK_KHR_cooperative_matrix: a GPU, or
/// Mesa 26's lavapipe through scripts/vulkan/lavapipe-coopmat.sh (it lists
/// only 8×8×8 yet runs the kernels' 16×16×16, hence `cooperativeMatrixAnyShape`).
/// Debian 12's lavapipe has no cooperative matrices: there the tests skip,
/// and the portable kernels are what VulkanBackendTests checks.
///
/// Operands are rounded to f16 before they reach either backend, so the
/// matrix units' f16 inputs lose nothing and products differ from the CPU's
/// f32 only in the order of the f32 sums. Attention also rounds its
/// probabilities to f16 before P·V: 2⁻¹¹ of each weight, so its bound is wider.
final class VulkanCooperativeMatrixTests: XCTestCase {
    let cpu = TestBackends.cpu

    /// A backend on the matrix-unit kernels (failing when the device has the
    /// extension but its self-tests turned them off), or a skip.
    func matrixUnits(_ configure: (inout VulkanOptions) -> Void = { _ in }) throws -> VulkanBackend {
        guard TestBackends.vulkanDeviceCount > 0 else { throw XCTSkip("no Vulkan device") }
        var options = VulkanOptions(weightDType: .f16, cooperativeMatrix: true)
        options.cooperativeMatrixAnyShape = true
        options.legacyMatrixKernel = false
        configure(&options)
        let backend = try VulkanBackend(options: options)
        guard backend.info.cooperativeMatrixExtension, !backend.info.cooperativeMatrixShapes.isEmpty else {
            throw XCTSkip("\(backend.info.name) has no cooperative matrices: the matrix-unit kernels did NOT run "
                          + "(scripts/vulkan/lavapipe-coopmat.sh runs them on Mesa 26's lavapipe)")
        }
        XCTAssertTrue(backend.usesCooperativeMatrix && !backend.legacyMatrixKernel,
                      "the matrix-product kernel failed its start-up self-test on \(backend.info.name)")
        XCTAssertTrue(backend.usesCooperativeAttention,
                      "the attention kernel failed its start-up self-test on \(backend.info.name)")
        XCTAssertEqual(backend.matmulPrecision, .f16, "images made on matrix units say so")
        return backend
    }

    func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(Float16((Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale))
        }
    }

    func compare(_ label: String, on gpu: VulkanBackend, atol: Float, rtol: Float = 1e-4,
                 file: StaticString = #filePath, line: UInt = #line, _ compute: (any Backend) -> Tensor) {
        let expected = compute(cpu), actual = compute(gpu)
        XCTAssertEqual(actual.shape, expected.shape, label, file: file, line: line)
        let c = assertClose(actual.toArray(), expected.toArray(), atol: atol, rtol: rtol, label, file: file, line: line)
        print("\(label): matrix units vs CPU \(c)")
    }

    /// Weights in f16 on the GPU (the model's storage), f32 on the CPU: the same values.
    func weight(_ be: any Backend, _ values: [Float], _ shape: [Int]) -> Tensor {
        be.upload(values, shape: shape, dtype: be is VulkanBackend ? .f16 : .f32)
    }

    /// GEGLU's projection and gating in one dispatch: 16 value and 16 gate
    /// columns per fragment pair, in both tile shapes, with ragged rows, with
    /// and without a bias, and in windows of rows; a width that does not pair
    /// (40 outputs) takes the product and then the gating.
    func testGEGLUInTheProductsStore() throws {
        let gpu = try matrixUnits()
        for (m, half, k, bias, dispatches) in [(2050, 1280, 64, true, 1), (300, 80, 96, true, 1), (37, 48, 45, false, 1),
                                               (20, 40, 32, true, 2)] {
            let x = values(m * k, seed: 11, scale: 2), w = values(2 * half * k, seed: 12, scale: 0.25)
            let b = values(2 * half, seed: 13)
            let before = gpu.commandStatistics.dispatches
            compare("geglu \(m)×\(2 * half)×\(k)\(bias ? " + bias" : "")", on: gpu, atol: 1e-4) { be in
                be.geglu(be.upload(x, shape: [m, k]), weight: self.weight(be, w, [2 * half, k]),
                         bias: bias ? self.weight(be, b, [2 * half]) : nil)
            }
            XCTAssertEqual(gpu.commandStatistics.dispatches - before, dispatches, "geglu \(m)×\(2 * half)×\(k)")
        }
        var options = VulkanOptions(weightDType: .f16, cooperativeMatrix: true)
        options.cooperativeMatrixAnyShape = true
        options.legacyMatrixKernel = false
        options.maxBindingBytes = 1 << 20
        let windowed = try VulkanBackend(options: options)
        let (m, half, k) = (3000, 64, 96)
        let x = values(m * k, seed: 14), w = values(2 * half * k, seed: 15, scale: 0.25), b = values(2 * half, seed: 16)
        compare("geglu in windows of rows", on: windowed, atol: 1e-4) { be in
            be.geglu(be.upload(x, shape: [m, k]), weight: self.weight(be, w, [2 * half, k]),
                     bias: self.weight(be, b, [2 * half]))
        }
    }

    func testProductsInBothTileShapes() throws {
        let gpu = try matrixUnits()
        // Linear layers: 128×128 tiles (≥ 128 of them) with ragged edges and a
        // K that ends inside a step; 64×64 tiles; checked loads (K not a multiple of 4).
        for (m, n, k) in [(2050, 1030, 76), (300, 200, 320), (70, 37, 45), (5, 3, 2)] {
            let x = values(m * k, seed: 1), w = values(n * k, seed: 2, scale: 0.25), b = values(n, seed: 3)
            compare("linear \(m)×\(n)×\(k)", on: gpu, atol: 1e-4) { be in
                be.upload(x, shape: [m, k]).linear(self.weight(be, w, [n, k]), self.weight(be, b, [n]))
            }
        }
        // Batched products with every transpose: B along K, along N, and strided (checked loads).
        for (m, n, k) in [(130, 72, 96), (33, 65, 17)] {
            let a = values(2 * m * k, seed: 4), b = values(2 * k * n, seed: 5)
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                compare("matmul 2×\(m)×\(n)×\(k) tA \(ta) tB \(tb)", on: gpu, atol: 1e-4) { be in
                    be.upload(a, shape: ta ? [2, k, m] : [2, m, k])
                        .matmul(be.upload(b, shape: tb ? [2, n, k] : [2, k, n]), transposeA: ta, transposeB: tb, alpha: 0.5)
                }
            }
        }
    }

    func testConvolutions() throws {
        let gpu = try matrixUnits()
        // Implicit im2col: 16-byte fetches (channels a multiple of 4) and checked ones, strides, asymmetric padding.
        for (h, w, cin, cout, kernel, stride, pad) in [(17, 13, 32, 40, 3, 1, 1), (16, 16, 8, 24, 3, 2, 1),
                                                       (9, 11, 3, 5, 3, 1, 1), (12, 10, 16, 16, 5, 1, 2)] {
            let x = values(2 * h * w * cin, seed: 6), kw = values(cout * kernel * kernel * cin, seed: 7, scale: 0.25)
            let bias = values(cout, seed: 8)
            compare("conv \(h)×\(w)×\(cin)→\(cout) k\(kernel) s\(stride) p\(pad)", on: gpu, atol: 1e-4) { be in
                be.upload(x, shape: [2, h, w, cin]).conv2d(self.weight(be, kw, [cout, kernel, kernel, cin]),
                                                           self.weight(be, bias, [cout]), stride: stride, padding: pad)
            }
        }
        let x = values(1 * 16 * 16 * 8, seed: 9), kw = values(8 * 9 * 8, seed: 10, scale: 0.25)
        compare("conv bottom/right padding", on: gpu, atol: 1e-4) { be in
            be.upload(x, shape: [1, 16, 16, 8]).conv2d(self.weight(be, kw, [8, 3, 3, 8]), nil, stride: 2,
                                                       padding: ConvPadding(top: 0, left: 0, bottom: 1, right: 1))
        }
    }

    /// A linear layer with bias and a 3×3 convolution (padding 1) of `image` [N, H, W, C] to `outputs` channels.
    func compareLinearAndConvolution(on gpu: VulkanBackend, _ what: String, linear: (m: Int, n: Int, k: Int),
                                     image shape: [Int], outputs: Int, seed: UInt64) {
        let (m, n, k) = linear, channels = shape[3]
        let x = values(m * k, seed: seed), w = values(n * k, seed: seed + 1, scale: 0.1), b = values(n, seed: seed + 2)
        compare("linear \(m)×\(n)×\(k), \(what)", on: gpu, atol: 1e-4) { be in
            be.upload(x, shape: [m, k]).linear(self.weight(be, w, [n, k]), self.weight(be, b, [n]))
        }
        let image = values(shape.reduce(1, *), seed: seed + 3), kw = values(outputs * 9 * channels, seed: seed + 4, scale: 0.1)
        compare("conv \(shape)→\(outputs), \(what)", on: gpu, atol: 1e-4) { be in
            be.upload(image, shape: shape).conv2d(self.weight(be, kw, [outputs, 3, 3, channels]), nil, padding: 1)
        }
    }

    /// Split K, and windows past the binding limit (a 1.3 MB input in windows
    /// of output rows with their halo: the window's offset into its binding).
    func testSplitKAndWindows() throws {
        let gpu = try matrixUnits { options in
            options.splitKTarget = 4096
            options.maxBindingBytes = 1 << 20
        }
        compareLinearAndConvolution(on: gpu, "split K, windows", linear: (70, 90, 1100), image: [1, 40, 40, 208],
                                    outputs: 16, seed: 11)
    }

    /// The first kernel (SDGEN_VULKAN_GEMM=legacy; where the current one fails its self-test).
    func testFirstKernel() throws {
        var options = VulkanOptions(weightDType: .f16, cooperativeMatrix: true)
        (options.cooperativeMatrixAnyShape, options.legacyMatrixKernel) = (true, true)
        _ = try matrixUnits()   // skips where there are no matrix units
        let gpu = try VulkanBackend(options: options)
        XCTAssertTrue(gpu.usesCooperativeMatrix && gpu.legacyMatrixKernel && !gpu.usesCooperativeAttention)
        compareLinearAndConvolution(on: gpu, "first kernel", linear: (300, 200, 320), image: [2, 9, 11, 8],
                                    outputs: 20, seed: 19)
    }

    /// Inside `FullPrecisionProducts` (SDXL's VAE) products and attention take
    /// the f32 kernels: operands that are not f16 values come out as the
    /// CPU's to f32 rounding, not to f16's.
    func testFullPrecisionScope() throws {
        let gpu = try matrixUnits()
        func raw(_ count: Int, seed: UInt64) -> [Float] {   // not rounded to f16
            (0..<count).map { Float(sin(Double($0) * 0.731 + Double(seed))) * 3.3 }
        }
        let x = raw(300 * 320, seed: 1), w = raw(200 * 320, seed: 2)
        let q = raw(2 * 70 * 128, seed: 3), k = raw(2 * 50 * 128, seed: 4), v = raw(2 * 50 * 128, seed: 5)
        FullPrecisionProducts.run(if: true) {
            compare("linear 300×200×320, full precision", on: gpu, atol: 1e-4, rtol: 1e-5) { be in
                be.upload(x, shape: [300, 320]).linear(be.upload(w, shape: [200, 320]))
            }
            XCTAssertTrue(gpu.attentionUsesMatrixUnits(headDim: 64, width: 128), "would run on matrix units outside the scope")
            compare("attention 2×64 70×50, full precision", on: gpu, atol: 1e-5, rtol: 1e-5) { be in
                be.attention(q: be.upload(q, shape: [2, 70, 128]), k: be.upload(k, shape: [2, 50, 128]),
                             v: be.upload(v, shape: [2, 50, 128]), heads: 2, scale: 0.125, causal: false, keyMask: nil)
            }
        }
        // Outside it the same product is f16's: far from f32's bound (the check has teeth).
        let narrow = gpu.upload(x, shape: [300, 320]).linear(gpu.upload(w, shape: [200, 320])).toArray()
        let exact = cpu.upload(x, shape: [300, 320]).linear(cpu.upload(w, shape: [200, 320])).toArray()
        XCTAssertGreaterThan(zip(narrow, exact).map { abs($0 - $1) }.max() ?? 0, 1e-3)
    }

    func testAttentionInEveryHeadSize() throws {
        let gpu = try matrixUnits()
        // Heads of 4…160 (variants 16…160), queries and keys not multiples of the
        // blocks, causal, masked (−∞ and large negative), cross-attention.
        let cases: [(heads: Int, dim: Int, lq: Int, lk: Int, causal: Bool, masked: Bool)] = [
            (2, 4, 70, 70, true, false), (4, 8, 20, 9, false, true), (3, 24, 65, 33, false, false),
            (2, 40, 130, 77, false, false), (2, 40, 77, 77, true, false), (2, 64, 129, 130, false, true),
            (2, 80, 64, 64, false, false), (1, 96, 40, 100, false, true), (1, 128, 33, 70, true, true),
            (1, 160, 70, 45, false, true),
        ]
        // lavapipe emulates the matrix units with every multiply-add unrolled, and LLVM takes minutes
        // over each variant (Mesa 26 with LLVM 22, Zen 3: 24 s for d32, 78 d80, 130 d96, 153 d128,
        // 189 d160). On a CPU implementation the test takes the variants the start-up self-test
        // compiles anyway (16, 48, 64: one, three and four fragments across the head) and the only
        // one with two subgroups (160); a GPU runs all eight.
        let emulated = gpu.info.kind == .cpu
        for c in cases where !emulated || [16, 48, 64, 160].contains((c.dim + 15) / 16 * 16) {
            let width = c.heads * c.dim
            XCTAssertTrue(gpu.attentionUsesMatrixUnits(headDim: c.dim, width: width), "heads of \(c.dim) on matrix units")
            let q = values(2 * c.lq * width, seed: 16), k = values(2 * c.lk * width, seed: 17)
            let v = values(2 * c.lk * width, seed: 18)
            var mask = [Float](repeating: 0, count: 2 * c.lk)
            if c.masked {
                for j in (c.lk - c.lk / 3)..<c.lk { mask[j] = -10_000 }
                mask[c.lk + 1] = -.infinity
            }
            compare("attention \(c.heads)×\(c.dim) \(c.lq)×\(c.lk) causal \(c.causal) mask \(c.masked)", on: gpu,
                    atol: 5e-4, rtol: 2e-3) { be in
                be.attention(q: be.upload(q, shape: [2, c.lq, width]), k: be.upload(k, shape: [2, c.lk, width]),
                             v: be.upload(v, shape: [2, c.lk, width]), heads: c.heads,
                             scale: 1 / Float(c.dim).squareRoot(), causal: c.causal,
                             keyMask: c.masked ? be.upload(mask, shape: [2, c.lk]) : nil)
            }
        }
    }
}
