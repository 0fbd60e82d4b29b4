import Foundation
import SafeTensors
import TensorCore
import TestSupport
import XCTest

/// The Vulkan backend beyond the shared op fixtures: device enumeration,
/// f16 weights (with their stated, wider tolerances), the large-head and
/// long-sequence attention paths, odd GEMM shapes, broadcasting patterns,
/// and the recorder's batching (barriers only where needed, no per-op wait).
/// Every result is compared with the CPU backend or a fixture.
final class VulkanBackendTests: XCTestCase {
    var gpu: VulkanBackend!
    let cpu = TestBackends.cpu

    override func setUpWithError() throws {
        guard let vulkan = TestBackends.vulkan else {
            if TestBackends.isCI { XCTFail("no Vulkan device under CI: \(TestBackends.vulkanUnavailable ?? "")") }
            throw XCTSkip("WARNING: no Vulkan device — GPU tests did NOT run (\(TestBackends.vulkanUnavailable ?? ""))")
        }
        gpu = vulkan
    }

    func testDeviceIsListedAndNamed() throws {
        let instance = try VulkanInstance.shared()
        XCTAssertFalse(instance.devices.isEmpty)
        XCTAssertTrue(instance.devices.indices.contains(instance.preferredDeviceIndex()))
        XCTAssertTrue(gpu.name.hasPrefix("Vulkan: "), gpu.name)
        print("Vulkan tests run on: \(gpu.name)")
        for device in instance.devices { print(device.report) }
    }

    func testBadDeviceIndexThrows() {
        XCTAssertThrowsError(try VulkanBackend(options: VulkanOptions(deviceIndex: 99))) { error in
            XCTAssertTrue("\(error)".contains("--gpu-index 99"), "\(error)")
        }
    }
}

extension VulkanBackendTests {
    func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    /// The same computation on both backends.
    func compare(_ label: String, atol: Float = 1e-5, rtol: Float = 1e-4,
                 file: StaticString = #filePath, line: UInt = #line,
                 _ compute: (any Backend) -> Tensor) {
        let expected = compute(cpu), actual = compute(gpu)
        XCTAssertEqual(actual.shape, expected.shape, label, file: file, line: line)
        let c = assertClose(actual.toArray(), expected.toArray(), atol: atol, rtol: rtol, label, file: file, line: line)
        print("\(label): GPU vs CPU \(c)")
    }

    // MARK: Matrix products

    func testGEMMShapesAndTransposes() {
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (33, 65, 17), (64, 64, 64), (130, 70, 300), (257, 31, 9)] {
            let a = random(2 * m * k, seed: 1), b = random(2 * k * n, seed: 2)
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                compare("matmul \(m)×\(n)×\(k) tA \(ta) tB \(tb)") { be in
                    be.upload(a, shape: ta ? [2, k, m] : [2, m, k])
                        .matmul(be.upload(b, shape: tb ? [2, n, k] : [2, k, n]), transposeA: ta, transposeB: tb, alpha: 0.5)
                }
            }
            compare("matmul \(m)×\(n)×\(k) shared B") { be in
                be.upload(a, shape: [2, m, k]).matmul(be.upload(Array(b.prefix(k * n)), shape: [k, n]))
            }
            let bias = random(n, seed: 3)
            compare("linear \(m)×\(n)×\(k)") { be in
                be.upload(Array(a.prefix(m * k)), shape: [m, k])
                    .linear(be.upload(Array(b.prefix(n * k)), shape: [n, k]), be.upload(bias, shape: [n]))
            }
        }
    }

    func testConvolutionShapes() {
        for (h, w, cin, cout, kernel, stride, pad) in [(7, 5, 3, 5, 3, 1, 1), (9, 9, 4, 8, 3, 2, 1), (8, 8, 6, 3, 3, 2, 0),
                                                       (5, 6, 2, 4, 1, 2, 0), (6, 6, 3, 2, 5, 1, 2)] {
            let x = random(2 * h * w * cin, seed: 4), weight = random(cout * kernel * kernel * cin, seed: 5)
            let bias = random(cout, seed: 6)
            compare("conv \(h)×\(w)×\(cin)→\(cout) k\(kernel) s\(stride) p\(pad)") { be in
                be.upload(x, shape: [2, h, w, cin]).conv2d(be.upload(weight, shape: [cout, kernel, kernel, cin]),
                                                           be.upload(bias, shape: [cout]), stride: stride, padding: pad)
            }
        }
        // The VAE encoder's asymmetric padding.
        let x = random(1 * 8 * 8 * 4, seed: 7), weight = random(4 * 9 * 4, seed: 8)
        compare("conv bottom/right padding") { be in
            be.upload(x, shape: [1, 8, 8, 4]).conv2d(be.upload(weight, shape: [4, 3, 3, 4]), nil, stride: 2,
                                                     padding: ConvPadding(top: 0, left: 0, bottom: 1, right: 1))
        }
    }

    // MARK: Attention

    func testAttentionPathsAgainstCPU() {
        // Head dims of SD (40, 80, 160), CLIP/BERT (64), and beyond the fused
        // kernel (192 and the VAE's 512: the blocked GEMM path); 8192 keys
        // (on lavapipe, past its fused-kernel work limit: the blocked path).
        for (heads, dim, lq, lk, causal, masked) in [(2, 40, 77, 77, true, false), (3, 80, 50, 7, false, false),
                                                     (1, 160, 33, 40, false, true), (2, 64, 130, 130, false, true),
                                                     (1, 192, 20, 25, true, true), (1, 512, 64, 64, false, false),
                                                     (1, 64, 64, 8192, false, true)] {
            let width = heads * dim
            let q = random(2 * lq * width, seed: 9), k = random(2 * lk * width, seed: 10), v = random(2 * lk * width, seed: 11)
            var mask = [Float](repeating: 0, count: 2 * lk)
            if masked { for j in (lk - lk / 3)..<lk { mask[j] = -10_000 } }
            compare("attention \(heads)×\(dim) \(lq)×\(lk) causal \(causal) mask \(masked)", atol: 2e-5, rtol: 2e-4) { be in
                be.attention(q: be.upload(q, shape: [2, lq, width]), k: be.upload(k, shape: [2, lk, width]),
                             v: be.upload(v, shape: [2, lk, width]), heads: heads, scale: 1 / Float(dim).squareRoot(),
                             causal: causal, keyMask: masked ? be.upload(mask, shape: [2, lk]) : nil)
            }
        }
    }

    /// SD's first-level self-attention length: 4096 tokens through the fused
    /// kernel (no 4096×4096 score matrix), checked against the CPU.
    func testLongSelfAttention() {
        let (tokens, heads, dim) = (4096, 1, 40)
        let q = random(tokens * heads * dim, seed: 12), k = random(tokens * heads * dim, seed: 13)
        let v = random(tokens * heads * dim, seed: 14)
        let before = gpu.memoryStatistics.peakBytes
        compare("attention 4096 tokens", atol: 2e-5, rtol: 2e-4) { be in
            be.attention(q: be.upload(q, shape: [1, tokens, dim]), k: be.upload(k, shape: [1, tokens, dim]),
                         v: be.upload(v, shape: [1, tokens, dim]), heads: heads, scale: 1 / Float(dim).squareRoot(),
                         causal: false, keyMask: nil)
        }
        // q, k, v and the output are 640 KB each; a score matrix would be 64 MB.
        XCTAssertLessThan(gpu.memoryStatistics.peakBytes - before, 16 << 20)
    }

    // MARK: Element-wise and layout

    func testBroadcastingPatterns() {
        let a = random(2 * 3 * 4 * 5, seed: 15)
        for bShape in [[5], [4, 1], [3, 1, 1], [2, 1, 4, 1], [1, 3, 1, 5], [2, 3, 4, 5], [1], [1, 1, 1, 1]] {
            let b = random(bShape.reduce(1, *), seed: 16)
            for op in BinaryOp.allCases {
                compare("\(op) [2,3,4,5] with \(bShape)", atol: 0, rtol: 0) { be in
                    be.binary(be.upload(a, shape: [2, 3, 4, 5]), be.upload(b, shape: bShape), op)
                }
            }
        }
    }

    /// GroupNorm over a large image: many runs per group, merged.
    func testGroupNormOnLargeImage() {
        let x = random(1 * 64 * 64 * 64, seed: 28, scale: 2).enumerated().map { $0.element + Float($0.offset % 7) }
        let gamma = random(64, seed: 29), beta = random(64, seed: 30)
        compare("groupNorm 64×64×64, 32 groups", atol: 2e-5, rtol: 1e-4) { be in
            be.upload(x, shape: [1, 64 * 64, 64]).groupNorm(groups: 32, weight: be.upload(gamma, shape: [64]),
                                                           bias: be.upload(beta, shape: [64]), eps: 1e-6, silu: true)
        }
        // 2 groups of 131072 values: 8 runs each, merged.
        compare("groupNorm 64×64×64, 2 groups", atol: 2e-5, rtol: 1e-4) { be in
            be.upload(x, shape: [1, 64 * 64, 64]).groupNorm(groups: 2, weight: be.upload(gamma, shape: [64]),
                                                           bias: be.upload(beta, shape: [64]), eps: 1e-6, silu: false)
        }
        compare("groupNorm 4 groups of 2 images", atol: 2e-5, rtol: 1e-4) { be in
            be.upload(x, shape: [2, 32 * 64, 64]).groupNorm(groups: 4, weight: be.upload(gamma, shape: [64]),
                                                           bias: be.upload(beta, shape: [64]), eps: 1e-6, silu: false)
        }
        compare("groupNorm 4 groups of 2 images, with offsets", atol: 2e-5, rtol: 1e-4) { be in
            be.upload(x, shape: [2, 32 * 64, 64]).groupNorm(groups: 4, weight: be.upload(gamma, shape: [64]),
                                                           bias: be.upload(beta, shape: [64]), eps: 1e-6, silu: true,
                                                           adding: be.upload(random(2 * 64, seed: 31, scale: 5),
                                                                             shape: [2, 1, 1, 64]))
        }
    }

    /// A GroupNorm whose groups are one run each (small images) is two
    /// dispatches, statistics and apply; with several runs the merge comes
    /// between them. Both are held to the CPU above and in OpReferenceTests.
    func testGroupNormDispatches() {
        let backend = gpu!
        let gamma = backend.upload(random(64, seed: 32), shape: [64]), beta = backend.upload(random(64, seed: 33), shape: [64])
        for (rows, groups, expected) in [(16 * 16, 32, 2), (64 * 64, 2, 3)] {
            let x = backend.upload(random(2 * rows * 64, seed: 34), shape: [2, rows, 64])
            let before = backend.commandStatistics.dispatches
            _ = x.groupNorm(groups: groups, weight: gamma, bias: beta, eps: 1e-5, silu: true)
            XCTAssertEqual(backend.commandStatistics.dispatches - before, expected, "\(rows) rows in \(groups) groups")
        }
    }

    func testLayoutOps() {
        let x = random(2 * 3 * 4 * 5, seed: 17)
        for axes in [[0, 2, 3, 1], [3, 2, 1, 0], [1, 0, 2, 3]] {
            compare("permute \(axes)", atol: 0, rtol: 0) { be in be.upload(x, shape: [2, 3, 4, 5]).permuted(axes) }
        }
        compare("slice", atol: 0, rtol: 0) { be in be.upload(x, shape: [6, 20]).slice(rows: 2..<5) }
        compare("concat axis 0", atol: 0, rtol: 0) { be in
            Tensor.concat([be.upload(x, shape: [2, 60]), be.upload(Array(x.prefix(60)), shape: [1, 60])], axis: 0)
        }
        compare("concat axis 1", atol: 0, rtol: 0) { be in
            Tensor.concat([be.upload(x, shape: [2, 3, 20]), be.upload(Array(x.prefix(40)), shape: [2, 1, 20])], axis: 1)
        }
        compare("tanh and affine") { be in be.upload(x, shape: [120]).activation(.tanh).affine(scale: 3, shift: -1) }
        compare("zeros", atol: 0, rtol: 0) { be in be.zeros([3, 7], dtype: .f32) }
        compare("softmax with −∞", atol: 1e-6, rtol: 1e-6) { be in
            be.upload([-Float.infinity, -.infinity, 0, 1, -.infinity, 2], shape: [3, 2]).softmax()
        }
    }

    /// The row reductions with and without subgroup arithmetic (the shared-memory
    /// tree) in every workgroup size VulkanBackend.rowThreads picks: rows
    /// narrower than 32, between powers of two, and wider than 256.
    func testRowReductionsInEveryWorkgroupSize() throws {
        let plain = try VulkanBackend(options: VulkanOptions(weightDType: .f32, subgroups: false))
        let gpus: [(String, VulkanBackend)] = [("without subgroups", plain), ("as the device runs them", gpu)]
        for width in [20, 40, 77, 300] {  // workgroups of 32, 64, 128 and 256 (striding)
            let x = random(150 * width, seed: 25, scale: 3).map { $0 + 20 }
            let gamma = random(width, seed: 26), beta = random(width, seed: 27)
            var checks: [(String, (any Backend) -> Tensor)] = [
                ("softmax", { be in be.upload(x, shape: [150, width]).softmax() }),
                ("layerNorm", { be in
                    be.upload(x, shape: [150, width]).layerNorm(weight: be.upload(gamma, shape: [width]),
                                                                bias: be.upload(beta, shape: [width]), eps: 1e-5) }),
            ]
            if width % 4 == 0 {
                checks.append(("groupNorm", { be in
                    be.upload(x, shape: [3, 50, width]).groupNorm(groups: 4, weight: be.upload(gamma, shape: [width]),
                                                                  bias: be.upload(beta, shape: [width]), eps: 1e-6, silu: false) }))
            }
            for (name, gpu) in gpus {
                for (label, run) in checks {
                    let c = assertClose(run(gpu).toArray(), run(cpu).toArray(), atol: 2e-5, rtol: 1e-4,
                                        "\(label) rows of \(width) \(name)")
                    print("\(label) rows of \(width) \(name): GPU vs CPU \(c)")
                }
            }
        }
    }

    // MARK: f16 weights

    /// Ops that read weights, with f16 weights on the GPU against the CPU
    /// with the same f16-rounded weights: only accumulation order differs.
    func testHalfWeightOps() throws {
        guard let half = TestBackends.vulkanDefault, half.preferredWeightDType == .f16 else {
            throw XCTSkip("the device has no 16-bit storage")
        }
        func rounded(_ v: [Float]) -> [Float] { v.map { Float(Float16($0)) } }
        let x = random(4 * 6 * 6 * 16, seed: 18)
        let w = rounded(random(8 * 9 * 16, seed: 19, scale: 0.2)), bias = rounded(random(8, seed: 20))
        let gamma = rounded(random(16, seed: 21)), beta = rounded(random(16, seed: 22))
        let table = rounded(random(10 * 16, seed: 23))
        let checks: [(String, (any Backend, DType) -> Tensor)] = [
            ("linear", { be, dt in
                be.upload(x, shape: [144, 16]).linear(be.upload(Array(w.prefix(8 * 16)), shape: [8, 16], dtype: dt),
                                                      be.upload(bias, shape: [8], dtype: dt)) }),
            ("conv2d", { be, dt in
                be.upload(x, shape: [4, 6, 6, 16]).conv2d(
                    be.upload(w, shape: [8, 16, 3, 3].map { $0 }, dtype: dt).reshaped([8, 16, 3, 3]).permuted([0, 2, 3, 1]),
                    be.upload(bias, shape: [8], dtype: dt), stride: 1, padding: 1) }),
            ("groupNorm+SiLU", { be, dt in
                be.upload(x, shape: [4, 36, 16]).groupNorm(groups: 4, weight: be.upload(gamma, shape: [16], dtype: dt),
                                                           bias: be.upload(beta, shape: [16], dtype: dt), eps: 1e-5, silu: true) }),
            ("layerNorm", { be, dt in
                be.upload(x, shape: [144, 16]).layerNorm(weight: be.upload(gamma, shape: [16], dtype: dt),
                                                         bias: be.upload(beta, shape: [16], dtype: dt), eps: 1e-5) }),
            ("embedding", { be, dt in be.embedding([3, 0, 9, 3], table: be.upload(table, shape: [10, 16], dtype: dt)) }),
        ]
        for (label, run) in checks {
            let expected = run(cpu, .f32).toArray()
            let result = run(half, .f16)
            let c = assertClose(result.toArray(), expected, atol: 1e-4, rtol: 1e-4, "\(label) with f16 weights")
            print("\(label) with f16 weights: GPU vs CPU \(c)")
        }
    }

    // MARK: Recording

    /// Independent ops share a barrier-free stretch, and nothing waits on the
    /// host until a result is read.
    /// Tensors past the binding limit run in windows (VulkanBackend+Windows):
    /// with the limit forced to 16 KiB, every op that splits is held to the
    /// CPU on shapes whose windows cut rows, samples, halos and broadcasts at
    /// odd places — and does split (more dispatches than ops).
    func testOpsPastTheBindingLimit() throws {
        var options = VulkanOptions(weightDType: .f32)
        options.maxBindingBytes = 16 << 10
        let small = try VulkanBackend(options: options)
        XCTAssertEqual(small.bindingLimit, 16 << 10)
        func check(_ label: String, atol: Float = 1e-5, rtol: Float = 1e-4, ops: Int,
                   _ compute: (any Backend) -> Tensor) {
            let expected = compute(cpu).toArray()
            let before = small.commandStatistics.dispatches
            let actual = compute(small)
            let dispatches = small.commandStatistics.dispatches - before
            XCTAssertGreaterThan(dispatches, ops, "\(label): not split into windows")
            assertClose(actual.toArray(), expected, atol: atol, rtol: rtol, "\(label) in \(dispatches) dispatches")
        }
        let image = random(2 * 37 * 29 * 12, seed: 40)
        let kernel = random(20 * 3 * 3 * 12, seed: 41, scale: 0.2), bias = random(20, seed: 42)
        for (stride, padding) in [(1, ConvPadding.same(1)), (2, ConvPadding(top: 0, left: 0, bottom: 1, right: 1)),
                                  (1, ConvPadding.none)] {
            check("conv 3×3 stride \(stride) \(padding)", ops: 1) { be in
                be.upload(image, shape: [2, 37, 29, 12]).conv2d(be.upload(kernel, shape: [20, 3, 3, 12]),
                                                              be.upload(bias, shape: [20]), stride: stride, padding: padding)
            }
        }
        check("conv 1×1 (a linear over rows)", ops: 1) { be in
            be.upload(image, shape: [2, 37, 29, 12]).conv2d(be.upload(Array(kernel.prefix(20 * 12)), shape: [20, 1, 1, 12]),
                                                          be.upload(bias, shape: [20]))
        }
        // Residuals are windowed with the output, row for row.
        check("conv 3×3 + residual", ops: 1) { be in
            be.upload(image, shape: [2, 37, 29, 12]).conv2d(be.upload(kernel, shape: [20, 3, 3, 12]),
                                                          be.upload(bias, shape: [20]), padding: 1,
                                                          adding: be.upload(random(2 * 37 * 29 * 20, seed: 48),
                                                                            shape: [2, 37, 29, 20]))
        }
        check("linear + GELU + residual (windows of rows)", ops: 1) { be in
            be.upload(image, shape: [2, 37, 29, 12])
                .linear(be.upload(Array(kernel.prefix(20 * 12)), shape: [20, 12]), be.upload(bias, shape: [20]),
                        activation: .gelu, adding: be.upload(random(2 * 37 * 29 * 20, seed: 47), shape: [2, 37, 29, 20]))
        }
        let wide = random(2 * 37 * 29 * 32, seed: 43, scale: 3)
        let gamma = random(32, seed: 44), beta = random(32, seed: 45)
        check("groupNorm + SiLU, 2 images", atol: 2e-5, ops: 3) { be in
            be.upload(wide, shape: [2, 37 * 29, 32]).groupNorm(groups: 8, weight: be.upload(gamma, shape: [32]),
                                                               bias: be.upload(beta, shape: [32]), eps: 1e-6, silu: true)
        }
        // Offsets per image and channel (a timestep embedding), each window reading its own image's.
        check("groupNorm + SiLU with offsets, 2 images", atol: 2e-5, ops: 3) { be in
            be.upload(wide, shape: [2, 37 * 29, 32]).groupNorm(groups: 8, weight: be.upload(gamma, shape: [32]),
                                                               bias: be.upload(beta, shape: [32]), eps: 1e-6, silu: true,
                                                               adding: be.upload(random(2 * 32, seed: 48, scale: 4),
                                                                                 shape: [2, 32]))
        }
        // Each image fits one binding, the batch does not: one window per image.
        check("groupNorm, 3 images of 8 KiB", atol: 2e-5, ops: 3) { be in
            be.upload(Array(wide.prefix(3 * 64 * 32)), shape: [3, 64, 32])
                .groupNorm(groups: 8, weight: be.upload(gamma, shape: [32]), bias: be.upload(beta, shape: [32]),
                           eps: 1e-6, silu: false)
        }
        for bShape in [[2, 37, 29, 32], [32], [2, 1, 1, 32], [37, 1, 1]] {
            check("binary add with \(bShape)", atol: 0, rtol: 0, ops: 1) { be in
                be.upload(wide, shape: [2, 37, 29, 32]) + be.upload(random(bShape.reduce(1, *), seed: 46), shape: bShape)
            }
        }
        check("SiLU", ops: 1) { be in be.upload(wide, shape: [2, 37, 29, 32]).silu() }
        check("GEGLU", ops: 1) { be in be.upload(wide, shape: [2, 37, 29, 32]).geglu() }
        check("upsample 2×", atol: 0, rtol: 0, ops: 1) { be in be.upload(image, shape: [2, 37, 29, 12]).upsampleNearest2x() }
    }

    /// The product's store applies every activation and the residual
    /// (epilogue.glsl) in one dispatch, equal to the CPU's separate ops (the
    /// CPU's against PyTorch in OpReferenceTests); split-K's summing pass is
    /// checked below.
    func testLinearEpilogueInOneDispatch() {
        let x = random(70 * 300, seed: 56), weight = random(90 * 300, seed: 57, scale: 0.1)
        let bias = random(90, seed: 58), skip = random(70 * 90, seed: 59)
        for activation in Activation.allCases {
            func compute(_ be: any Backend) -> Tensor {
                be.upload(x, shape: [70, 300]).linear(be.upload(weight, shape: [90, 300]), be.upload(bias, shape: [90]),
                                                      activation: activation, adding: be.upload(skip, shape: [70, 90]))
            }
            let reference = compute(cpu).toArray()
            let before = gpu.commandStatistics.dispatches
            let result = compute(gpu).toArray()
            XCTAssertEqual(gpu.commandStatistics.dispatches - before, 1, "\(activation): dispatches")
            assertClose(result, reference, atol: 1e-5, rtol: 1e-4, "linear + \(activation) + residual")
        }
    }

    /// Split-K products (`VulkanOptions.splitKTarget`, off by default): each
    /// slice's partial sums and the pass that adds them with the bias equal
    /// the CPU, for linear layers (f32 and f16 weights), convolutions and a
    /// product cut into windows; a product with one slice's K is not split.
    func testSplitKProductsMatchCPU() throws {
        for weights in [DType.f32, .f16] {
            var options = VulkanOptions(weightDType: weights)
            options.splitKTarget = 4096
            let split = try VulkanBackend(options: options)
            func check(_ label: String, dispatches expected: Int, _ compute: (any Backend) -> Tensor) {
                let reference = compute(cpu).toArray()
                let before = split.commandStatistics.dispatches
                let result = compute(split).toArray()
                XCTAssertEqual(split.commandStatistics.dispatches - before, expected, "\(label): dispatches")
                assertClose(result, reference, atol: weights == .f32 ? 1e-4 : 2e-2, rtol: weights == .f32 ? 1e-4 : 2e-2,
                            "\(label), \(weights) weights")
            }
            // Weights rounded to f16 on both sides, so only accumulation differs.
            func w(_ count: Int, _ seed: UInt64) -> [Float] { random(count, seed: seed, scale: 0.1).map { Float(Float16($0)) } }
            let x = random(70 * 1100, seed: 50), weight = w(90 * 1100, 51), bias = w(90, 52)
            check("linear 70×90×1100", dispatches: 2) { be in
                be.upload(x, shape: [70, 1100]).linear(be.upload(weight, shape: [90, 1100], dtype: be === self.cpu ? .f32 : weights),
                                                       be.upload(bias, shape: [90], dtype: be === self.cpu ? .f32 : weights))
            }
            // The epilogue runs in the summing pass: still two dispatches.
            let skip = random(70 * 90, seed: 55)
            for activation in Activation.allCases {
                check("linear 70×90×1100 + \(activation) + residual", dispatches: 2) { be in
                    be.upload(x, shape: [70, 1100])
                        .linear(be.upload(weight, shape: [90, 1100], dtype: be === self.cpu ? .f32 : weights),
                                be.upload(bias, shape: [90], dtype: be === self.cpu ? .f32 : weights),
                                activation: activation, adding: be.upload(skip, shape: [70, 90]))
                }
            }
            check("linear 70×90×300: too shallow to split", dispatches: 1) { be in
                be.upload(Array(x.prefix(70 * 300)), shape: [70, 300])
                    .linear(be.upload(Array(weight.prefix(90 * 300)), shape: [90, 300], dtype: be === self.cpu ? .f32 : weights))
            }
            let image = random(2 * 9 * 7 * 96, seed: 53), kernel = w(24 * 9 * 96, 54)
            check("conv 3×3 96→24 (K 864)", dispatches: 2) { be in
                be.upload(image, shape: [2, 9, 7, 96]).conv2d(be.upload(kernel, shape: [24, 3, 3, 96],
                                                                        dtype: be === self.cpu ? .f32 : weights), padding: 1)
            }
        }
    }

    /// After the host has waited (the GPU is idle), the first batch goes to
    /// the GPU after `dispatchesWhenIdle` dispatches, not a whole batch; the
    /// host's recording time is counted apart from its waits.
    func testIdleGPUGetsWorkEarly() {
        let backend = gpu!
        let x = backend.upload(random(64 * 64, seed: 24), shape: [64, 64])
        backend.synchronize()
        let before = backend.commandStatistics
        var y = x
        for _ in 0..<4 { y = y.affine(scale: 0.5, shift: 1).silu() }  // 8 dispatches
        let after = backend.commandStatistics.since(before)
        XCTAssertEqual(after.dispatches, 8)
        XCTAssertEqual(after.submissions, 1, "the idle GPU's first batch was not submitted after 8 dispatches")
        XCTAssertEqual(after.waits, 0)
        XCTAssertGreaterThan(after.recordingSeconds, 0)
        XCTAssertEqual(after.waitSeconds, 0)
        _ = y.toArray()
        let read = backend.commandStatistics.since(before)
        XCTAssertEqual(read.waits, 1)
        XCTAssertGreaterThan(read.waitSeconds, 0)
    }

    func testBatchingWithoutPerOpWaits() {
        let backend = gpu!
        let x = backend.upload(random(64 * 64, seed: 24), shape: [64, 64])
        backend.synchronize()
        let before = backend.commandStatistics
        var y = x
        for _ in 0..<40 { y = (y.affine(scale: 0.5, shift: 0) + x).silu() }
        let independent = (0..<10).map { x.affine(scale: Float($0), shift: 0) }
        let during = backend.commandStatistics
        XCTAssertEqual(during.waits, before.waits, "ops waited on the host")
        XCTAssertEqual(during.dispatches - before.dispatches, 130)
        _ = y.toArray()
        let after = backend.commandStatistics
        XCTAssertEqual(after.waits - during.waits, 1, "the download waits once")
        XCTAssertGreaterThan(after.submissions - before.submissions, 1, "130 dispatches go out in several batches")
        // 40 dependent chains of 3 need a barrier each; the 10 independent affines need none between them.
        XCTAssertLessThanOrEqual(during.barriers - before.barriers, 120 + 1 + (during.submissions - before.submissions) + 2)
        withExtendedLifetime(independent) {}
    }
}
