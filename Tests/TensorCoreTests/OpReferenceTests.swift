import TensorCore
import TestSupport
import XCTest

/// Every op against values PyTorch computed (Tests/Fixtures/ops, written by
/// scripts/reference/make_fixtures.py), on every backend.
///
/// Tolerances: f32 ops 1e-5 absolute + 1e-4 relative. Reductions over many
/// terms (GEMM, convolution, attention) may sum in another order than
/// PyTorch's kernels; the fixtures keep sums short enough for the same bound.
final class OpReferenceTests: XCTestCase {
    let atol: Float = 1e-5, rtol: Float = 1e-4

    func forEachBackend(_ body: (any Backend) throws -> Void) rethrows {
        for backend in TestBackends.ops { try body(backend) }
    }

    func check(_ fixtureName: String, atol: Float? = nil, rtol: Float? = nil,
               on backends: [any Backend] = TestBackends.ops,
               file: StaticString = #filePath, line: UInt = #line,
               _ compute: (Fixture, any Backend) throws -> Tensor) throws {
        let fixture = try Fixture("ops/\(fixtureName).safetensors")
        for backend in backends {
            let result = try compute(fixture, backend)
            XCTAssertEqual(result.shape, fixture.shape("out"), "\(fixtureName) on \(backend.name): shape",
                           file: file, line: line)
            let comparison = assertClose(result.toArray(), try fixture.floats("out"), atol: atol ?? self.atol,
                                         rtol: rtol ?? self.rtol, "\(fixtureName) on \(backend.name)", file: file, line: line)
            print("\(fixtureName) on \(backend.name): \(comparison)")
        }
    }

    // MARK: Linear algebra

    func testLinear() throws {
        try check("linear") { f, b in
            try f.tensor("x", on: b).linear(try f.tensor("weight", on: b), try f.tensor("bias", on: b))
        }
    }

    /// Large enough to be split over the CPU's workers, each way it can be.
    func testProductsSplitOverWorkers() throws {
        for name in ["linear_split_rows", "linear_split_columns"] {
            try check(name) { f, b in
                try f.tensor("x", on: b).linear(try f.tensor("weight", on: b), try f.tensor("bias", on: b))
            }
        }
        try check("matmul_ta_split") { f, b in
            XCTAssertTrue(f.bool("transpose_a"))
            return try f.tensor("a", on: b).matmul(try f.tensor("b", on: b), transposeA: true)
        }
    }

    /// An activation and a residual after the product (`linear(…,
    /// activation:, adding:)`), which the CPU applies to each worker's block
    /// of the result as it is made: split by rows and by columns, on every
    /// backend and kernel set, and with the weight prepacked (the panels' own
    /// product path).
    func testLinearWithActivationSplitOverWorkers() throws {
        var prepacking = CPUBackend.Tuning()
        prepacking.prepacksAllWeights = true
        let prepacked = CPUKernelSet.available.filter { $0 >= .avx2 }
            .map { CPUBackend(threads: 2, kernels: $0, tuning: prepacking) }
        let cases: [(String, Activation?, residual: Bool)] = [
            ("linear_gelu_split_rows", .gelu, false), ("linear_quick_gelu_split_columns", .quickGelu, false),
            ("linear_residual_split_rows", nil, true), ("linear_gelu_residual_split_columns", .gelu, true),
        ]
        for (name, kind, hasResidual) in cases {
            try check(name, on: TestBackends.ops + prepacked) { f, b in
                let weight = try f.tensor("weight", on: b)
                let shape = f.shape("x"), outputs = f.shape("weight")[0]
                XCTAssertGreaterThanOrEqual(shape.reduce(1, *) * outputs, 2 * CPUBackend.parallelGEMMWork,
                                            "\(name) is too small to be split over two workers")
                let residual = hasResidual ? try f.tensor("residual", on: b) : nil
                let result = try f.tensor("x", on: b).linear(weight, try f.tensor("bias", on: b), activation: kind,
                                                             adding: residual)
                if let cpu = b as? CPUBackend, cpu.tuning.prepacksAllWeights {
                    XCTAssertTrue(cpu.hasPackedPanels(weight), "\(cpu.name) did not prepack the weight")
                }
                return result
            }
        }
    }

    /// Weights kept f16 (as SD's fp16 files are) in f32 products: converted
    /// by sdgen's GEMM as it packs them (every kernel set but generic), or
    /// widened a few rows at a time first (generic, for OpenBLAS); both
    /// against PyTorch's f32 product of the same (f16-representable) values,
    /// at the f32 tolerance.
    func testHalfWeightsInF32Products() throws {
        var widened = CPUBackend.Tuning()
        widened.packsStoredWeights = false
        widened.widenedBlockBytes = 4 * 100
        let backends = CPUKernelSet.available.map { CPUBackend(threads: 2, convolution: .direct, kernels: $0) }
            + [CPUBackend(threads: 2, convolution: .direct, tuning: widened)]
        try check("linear_f16_weight", on: backends) { f, b in
            let weight = b.convert(try f.tensor("weight", on: b), to: .f16)
            return try f.tensor("x", on: b).linear(weight, try f.tensor("bias", on: b))
        }
        // The second has 3 outputs: the narrow path's own widening.
        for name in ["conv2d_f16_weight", "conv2d_3x3_rgb_out"] {
            try check(name, on: backends) { f, b in
                let weight = b.convert(try f.tensor("weight", on: b).permuted([0, 2, 3, 1]), to: .f16)
                return try f.imageNHWC("x", on: b).conv2d(weight, try f.tensor("bias", on: b), padding: Self.padding(f))
                    .permuted([0, 3, 1, 2])
            }
        }
    }

    func testBatchedMatmul() throws {
        try check("matmul") { f, b in try f.tensor("a", on: b).matmul(try f.tensor("b", on: b)) }
    }

    func testBatchedMatmulTransposedScaled() throws {
        try check("matmul_tb") { f, b in
            XCTAssertTrue(f.bool("transpose_b"))
            return try f.tensor("a", on: b).matmul(try f.tensor("b", on: b), transposeB: true,
                                                   alpha: f.float("alpha")!)
        }
    }

    static let convolutionFixtures = ["conv2d_3x3", "conv2d_3x3_s2", "conv2d_3x3_s2_p0", "conv2d_1x1",
                                      "conv2d_3x3_wide", "conv2d_3x3_winograd", "conv2d_3x3_winograd_deep",
                                      "conv2d_3x3_rgb_out", "conv2d_3x3_narrow_s2", "conv2d_3x3_patches",
                                      "conv2d_3x3_patches_s2", "conv2d_3x3_patches_deep"]
                                      + winogradEdgeFixtures + residualFixtures
    /// A residual added as the outputs are made, on every path: Winograd (with
    /// tiles past the edges), implicit patches, stride 2, narrow, 1×1.
    static let residualFixtures = ["conv2d_3x3_residual", "conv2d_3x3_residual_deep", "conv2d_3x3_residual_patches",
                                   "conv2d_3x3_residual_s2", "conv2d_3x3_residual_narrow", "conv2d_1x1_residual"]
    /// Geometries a Winograd tiling must get right at its edges (every one
    /// eligible for Winograd: stride 1, channels in whole vectors).
    static let winogradEdgeFixtures = ["conv2d_3x3_valid", "conv2d_3x3_asymmetric", "conv2d_3x3_subtile",
                                       "conv2d_3x3_single_pixel", "conv2d_3x3_pad2", "conv2d_3x3_batch"]

    /// Winograd F(4×4, 3×3) rounds differently from a direct sum: measured on
    /// the 2304-term fixture, worst error 2.2e-5 and mean 1.4e-6 on unit-scale
    /// outputs (direct: 2.1e-6 and 2.9e-7). Its bound is stated for it alone;
    /// every model and pipeline fixture keeps its own tolerance on the
    /// Winograd backend.
    static let winogradAbsoluteTolerance: Float = 3e-5

    /// The fixture's padding: `padding` for every side, or one per side.
    static func padding(_ fixture: Fixture) -> ConvPadding {
        if let all = fixture.int("padding") { return .same(all) }
        return ConvPadding(top: fixture.int("padding_top")!, left: fixture.int("padding_left")!,
                           bottom: fixture.int("padding_bottom")!, right: fixture.int("padding_right")!)
    }

    /// The fixture's geometry in sdgen's layouts (NHWC input, [Cout, kh, kw, Cin] kernel).
    static func geometry(_ fixture: Fixture) -> ConvolutionGeometry {
        let (input, weight) = (fixture.shape("x"), fixture.shape("weight"))
        return ConvolutionGeometry(input: [input[0], input[2], input[3], input[1]],
                                   weight: [weight[0], weight[2], weight[3], weight[1]],
                                   stride: fixture.int("stride")!, padding: padding(fixture))
    }

    func checkConvolution(_ name: String, on backends: [any Backend] = TestBackends.ops) throws {
        let geometry = Self.geometry(try Fixture("ops/\(name).safetensors"))
        for backend in backends {
            let winograd = (backend as? CPUBackend)?.usesWinograd(geometry) ?? false
            try checkConvolution(name, on: backend, atol: winograd ? Self.winogradAbsoluteTolerance : atol)
        }
    }

    private func checkConvolution(_ name: String, on backend: any Backend, atol: Float) throws {
        try check(name, atol: atol, on: [backend]) { f, b in
            let x = try f.imageNHWC("x", on: b)
            // PyTorch's [Cout, Cin, kh, kw] → sdgen's [Cout, kh, kw, Cin].
            let w = try f.tensor("weight", on: b).permuted([0, 2, 3, 1])
            let residual = f.shape("residual").isEmpty ? nil : try f.imageNHWC("residual", on: b)
            let y = x.conv2d(w, try f.tensor("bias", on: b), stride: f.int("stride")!, padding: Self.padding(f),
                             adding: residual)
            return y.permuted([0, 3, 1, 2])
        }
    }

    func testConvolutions() throws {
        for name in Self.convolutionFixtures { try checkConvolution(name) }
    }

    /// The CPU's direct and Winograd convolutions each against PyTorch, on
    /// every fixture, whatever the automatic choice would be (Winograd needs
    /// stride 1 and channel counts in whole vectors; elsewhere it falls back).
    func testConvolutionAlgorithms() throws {
        let winograd = CPUBackend(threads: 2, convolution: .winograd)
        for name in Self.winogradEdgeFixtures {
            XCTAssertTrue(winograd.usesWinograd(Self.geometry(try Fixture("ops/\(name).safetensors"))), name)
        }
        for algorithm in CPUBackend.ConvolutionAlgorithm.allCases {
            let backend = CPUBackend(threads: 2, convolution: algorithm)
            for name in Self.convolutionFixtures { try checkConvolution(name, on: [backend]) }
        }
    }

    /// Kernels transformed a chunk of output channels at a time, as for
    /// 1280-channel layers, on every kernel set: sdgen's (both operands of the
    /// point products prepacked) in chunks of one or two panels of outputs
    /// (the last one part empty: 48 outputs in 32 + 16 on AVX-512) and
    /// blocks of 24–96 tiles packed a third of a block at a time, so every
    /// boundary is crossed; OpenBLAS's 8 or 16 outputs a chunk.
    func testWinogradInOutputChannelChunks() throws {
        var tuning = CPUBackend.Tuning()
        tuning.winogradKernelChunkBytes = 36 * 4 * 64 * 8
        tuning.winogradPackedTileBytes = 36 * 4 * 256 * 24
        tuning.winogradTransformStepBytes = 36 * 4 * 256 * 8
        for kernels in CPUKernelSet.available {
            let chunked = CPUBackend(threads: 2, convolution: .winograd, kernels: kernels, tuning: tuning)
            try checkConvolution("conv2d_3x3_winograd_deep", on: [chunked])
            try checkConvolution("conv2d_3x3_winograd", on: [chunked])
            try checkConvolution("conv2d_3x3_residual_deep", on: [chunked])
        }
    }

    /// Direct convolutions with input channels in multiples of 32 go over
    /// the implicit patch matrix on sdgen's AVX2 and AVX-512 kernels (native bf16 too);
    /// other channel counts, the generic set and the bf16 emulation keep
    /// im2col — the fixtures above hold both paths.
    func testImplicitPatchesWhereKernelsAndChannelsAllow() {
        let wide = ConvolutionGeometry(input: [1, 5, 6, 288], weight: [24, 3, 3, 288], stride: 1, padding: .same(1))
        let narrow = ConvolutionGeometry(input: [1, 5, 6, 24], weight: [24, 3, 3, 24], stride: 1, padding: .same(1))
        for kernels in CPUKernelSet.available {
            let f32 = CPUBackend(threads: 2, kernels: kernels)
            XCTAssertEqual(f32.usesImplicitPatches(wide), kernels >= .avx2, "\(kernels)")
            XCTAssertFalse(f32.usesImplicitPatches(narrow), "\(kernels)")
            let bf16 = CPUBackend(threads: 2, precision: .bf16, kernels: kernels)
            XCTAssertEqual(bf16.usesImplicitPatches(wide), kernels == .avx512BF16, "\(kernels) bf16")
        }
    }

    func testAutomaticConvolutionTakesWinogradWhereItPays() {
        let backend = CPUBackend(threads: 2)
        XCTAssertTrue(backend.usesWinograd(ConvolutionGeometry(input: [1, 34, 29, 256], weight: [64, 3, 3, 256],
                                                               stride: 1, padding: .same(1))))
        // Too few tiles, stride 2, channels not in whole vectors: direct.
        XCTAssertFalse(backend.usesWinograd(ConvolutionGeometry(input: [2, 8, 8, 1280], weight: [1280, 3, 3, 1280],
                                                                stride: 1, padding: .same(1))))
        XCTAssertFalse(backend.usesWinograd(ConvolutionGeometry(input: [1, 64, 64, 256], weight: [256, 3, 3, 256],
                                                                stride: 2, padding: .same(1))))
        XCTAssertFalse(backend.usesWinograd(ConvolutionGeometry(input: [1, 64, 64, 4], weight: [320, 3, 3, 4],
                                                                stride: 1, padding: .same(1))))
        // SD 1.5's UNet at 512²: 8×8 latents (8 tiles) direct, 16×16 (32) and 32×32 (128)
        // Winograd; 16×16 at batch 1 (16 tiles) direct.
        func square(_ side: Int, _ channels: Int, batch: Int = 2) -> ConvolutionGeometry {
            ConvolutionGeometry(input: [batch, side, side, channels], weight: [channels, 3, 3, channels],
                                stride: 1, padding: .same(1))
        }
        XCTAssertTrue(backend.usesWinograd(square(16, 1280)))
        XCTAssertFalse(backend.usesWinograd(square(16, 1280, batch: 1)))
        XCTAssertTrue(backend.usesWinograd(square(32, 640)))
        // bf16 products twice as fast as f32 move the line up (Winograd's stay f32): to 1024
        // tiles where 512-bit FMAs run at full rate, to 128 where they run in halves; where
        // bf16 brings no speed, or is emulated, it stays where f32 has it.
        for kernels in CPUKernelSet.available {
            let bf16 = CPUBackend(threads: 2, precision: .bf16, kernels: kernels)
            let peak = CPUPeak.oneCore(kernels)
            let faster = kernels == .avx512BF16 && peak.bf16Pays, fullRate = peak.fullRate512
            XCTAssertEqual(bf16.usesWinograd(square(16, 1280)), !faster, "\(kernels)")  // 32 tiles
            XCTAssertEqual(bf16.usesWinograd(square(32, 640)), !faster || !fullRate, "\(kernels)")  // 128
            XCTAssertEqual(bf16.usesWinograd(square(64, 512, batch: 1)), !faster || !fullRate, "\(kernels)")
            XCTAssertEqual(bf16.usesWinograd(square(64, 320)), !faster || !fullRate, "\(kernels)")  // 512
            XCTAssertTrue(bf16.usesWinograd(square(128, 512, batch: 1)), "\(kernels)")  // 1024
        }
        // The rule for CPUs this machine is not: one core's peaks as `sdgen devices` measured them.
        let line = { (precision: MatmulPrecision, f32: Double, bf16: Double?) in
            CPUBackend.automaticWinogradTiles(precision: precision, nativeBFloat16: bf16 != nil,
                                              peak: CPUPeak(f32: f32 * 1e9, bf16: bf16.map { $0 * 1e9 }, threads: 1))
        }
        XCTAssertEqual(line(.bf16, 117, 235), 128)  // Zen 4: 512-bit FMAs in halves
        XCTAssertEqual(line(.bf16, 257, 524), 1024)  // Zen 5: full rate
        XCTAssertEqual(line(.bf16, 210, 105), 32)  // Emerald Rapids: bf16 brings no speed
        XCTAssertEqual(line(.bf16, 96, nil), 32)  // AVX2 only: bf16 emulated
        XCTAssertEqual(line(.f32, 117, 235), 32)
        XCTAssertEqual(line(.f32, 257, 524), 32)
    }

    // MARK: Normalisation

    func testGroupNorm() throws {
        // group_norm_offset: mean 100, spread 0.5 — one-pass E[x²] − E[x]² would lose it all
        // (errors of order 1). The CPU centers before scaling and is within 5e-7 of the float64
        // reference; the Vulkan shader applies x·scale + (β − mean·scale), whose two ≈ 200·scale
        // terms cancel to 1.3e-5 of it, hence the looser bound for this fixture.
        for (name, atol) in [("group_norm", self.atol), ("group_norm_silu", self.atol),
                             ("group_norm_offset", Float(3e-5))] {
            try check(name, atol: atol) { f, b in
                try f.imageNHWC("x", on: b)
                    .groupNorm(groups: f.int("groups")!, weight: try f.tensor("weight", on: b),
                               bias: try f.tensor("bias", on: b), eps: f.float("eps")!, silu: f.bool("silu"))
                    .permuted([0, 3, 1, 2])
            }
        }
    }

    func testGroupNormWithOffsets() throws {
        // A ResNet block's norm2(conv1(h) + temb): the offsets [N, C] are added as x is read, before the
        // statistics. group_norm_offsets_large puts a mean of 100 in the offsets (reference in float64;
        // Vulkan's x·scale + (β − mean·scale) cancels as for group_norm_offset, hence its bound).
        for (name, atol) in [("group_norm_offsets_silu", self.atol), ("group_norm_offsets_large", Float(3e-5))] {
            try check(name, atol: atol) { f, b in
                try f.imageNHWC("x", on: b)
                    .groupNorm(groups: f.int("groups")!, weight: try f.tensor("weight", on: b),
                               bias: try f.tensor("bias", on: b), eps: f.float("eps")!, silu: f.bool("silu"),
                               adding: try f.tensor("offsets", on: b))
                    .permuted([0, 3, 1, 2])
            }
        }
    }

    func testLayerNorm() throws {
        // layer_norm_offset has mean 100: PyTorch's own f32 kernel computes
        // x·s − mean·s with both terms ≈ 100·s, so the reference itself is
        // 2e-5 from the exact (f64) answer; the bound allows for that.
        for (name, atol) in [("layer_norm", self.atol), ("layer_norm_offset", Float(5e-5))] {
            try check(name, atol: atol) { f, b in
                try f.tensor("x", on: b).layerNorm(weight: try f.tensor("weight", on: b),
                                                   bias: try f.tensor("bias", on: b), eps: f.float("eps")!)
            }
        }
    }

    /// Rows as wide as the models' (BERT 768, SDXL 2048; here 1000: several
    /// of the CPU's 256-value runs and a ragged tail) at mean 100, against
    /// the definition in float64 — the fixtures above are 37 and 48 wide.
    func testLayerNormWideRowsAgainstFloat64() throws {
        let (rows, width) = (3, 1000)
        var state: UInt64 = 7
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) - 0.5
        }
        let x = (0..<rows * width).map { _ in 100 + next() }
        let gamma = (0..<width).map { _ in 1 + next() }, beta = (0..<width).map { _ in next() }
        var expected = [Float]()
        for r in 0..<rows {
            let row = x[r * width..<(r + 1) * width].map(Double.init)
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width)
            for (i, v) in row.enumerated() {
                expected.append(Float((v - mean) / (variance + 1e-5).squareRoot() * Double(gamma[i]) + Double(beta[i])))
            }
        }
        for backend in TestBackends.ops {
            let result = backend.upload(x, shape: [rows, width])
                .layerNorm(weight: backend.upload(gamma, shape: [width]), bias: backend.upload(beta, shape: [width]),
                           eps: 1e-5).toArray()
            // The CPU centres on the f64 mean (1 ulp here); Vulkan's shader on
            // the f32 mean, which at mean 100 may be 1.3e-5 off after scaling.
            assertClose(result, expected, atol: backend is CPUBackend ? 1e-6 : 2e-5, rtol: 0, "layer norm 3×1000 at mean 100 on \(backend.name)")
        }
    }

    func testSoftmax() throws {
        try check("softmax") { f, b in try f.tensor("x", on: b).softmax() }
    }

    // MARK: Attention

    /// On every backend and kernel set, and on the CPU as two GEMMs around a
    /// softmax (what the generic set runs) besides the fused kernels; the
    /// key-block cases pass the AVX2 kernel's blocks of 192 keys, and a head
    /// of 13 over 37 queries leaves every panel and tile of it ragged.
    func testAttention() throws {
        var unfused = CPUBackend.Tuning()
        unfused.fusedAttention = false
        XCTAssertEqual(TestBackends.cpu.usesFusedAttention, TestBackends.cpu.kernels >= .avx2)
        for name in ["attention_causal", "attention_cross", "attention_mask", "attention_long",
                     "attention_causal_split", "attention_wide_heads",
                     "attention_key_blocks_mask", "attention_key_blocks_causal", "attention_odd_head"] {
            try check(name, on: TestBackends.ops + [CPUBackend(threads: 2, tuning: unfused)]) { f, b in
                let mask = f.shape("key_mask").isEmpty ? nil : try f.tensor("key_mask", on: b)
                return b.attention(q: try f.tensor("q", on: b), k: try f.tensor("k", on: b),
                                   v: try f.tensor("v", on: b), heads: f.int("heads")!,
                                   scale: f.float("scale")!, causal: f.bool("causal"), keyMask: mask)
            }
        }
    }

    // MARK: Element-wise

    func testActivations() throws {
        let cases: [(String, Activation)] = [("gelu", .gelu), ("gelu_tanh", .geluTanh),
                                             ("quick_gelu", .quickGelu), ("silu", .silu)]
        for (name, kind) in cases {
            try check(name) { f, b in try f.tensor("x", on: b).activation(kind) }
        }
        // |x| up to 1e4, past every exponential's underflow and clamp: within
        // 1e-6 absolute and relative of PyTorch (a lost sign or an overflow
        // misses by the value itself).
        for (name, kind) in [("gelu_extremes", Activation.gelu), ("quick_gelu_extremes", .quickGelu),
                             ("silu_extremes", .silu)] {
            try check(name, atol: 1e-6, rtol: 1e-6) { f, b in try f.tensor("x", on: b).activation(kind) }
        }
    }

    func testGEGLU() throws {
        try check("geglu") { f, b in try f.tensor("x", on: b).geglu() }
    }

    /// diffusers' GEGLU module: projection and gating as one backend op.
    func testGEGLUModule() throws {
        for name in ["geglu_module", "geglu_module_unpaired"] {
            try check(name) { f, b in
                b.geglu(try f.tensor("x", on: b), weight: try f.tensor("weight", on: b),
                        bias: f.file.info("bias") == nil ? nil : try f.tensor("bias", on: b))
            }
        }
    }

    func testBinaryOpsWithBroadcasting() throws {
        try check("add_same") { f, b in try f.tensor("a", on: b) + f.tensor("b", on: b) }
        try check("add_broadcast") { f, b in try f.tensor("a", on: b) + f.tensor("b", on: b) }
        try check("mul_broadcast") { f, b in try f.tensor("a", on: b) * f.tensor("b", on: b) }
        try check("sub_broadcast") { f, b in try f.tensor("a", on: b) - f.tensor("b", on: b) }
    }

    func testAffine() throws {
        try check("affine") { f, b in
            try f.tensor("x", on: b).affine(scale: f.float("scale")!, shift: f.float("shift")!)
        }
    }

    // MARK: Layout

    func testUpsampleNearest() throws {
        try check("upsample_nearest2x") { f, b in
            try f.imageNHWC("x", on: b).upsampleNearest2x().permuted([0, 3, 1, 2])
        }
    }

    func testConcatAlongChannels() throws {
        try check("concat_channels") { f, b in
            XCTAssertEqual(f.int("axis"), 1)
            return Tensor.concat([try f.imageNHWC("a", on: b), try f.imageNHWC("b", on: b)], axis: -1)
                .permuted([0, 3, 1, 2])
        }
    }

    func testPermute() throws {
        try check("permute") { f, b in
            let axes = f.string("axes")!.split(separator: ",").map { Int($0)! }
            return try f.tensor("x", on: b).permuted(axes)
        }
    }

    // MARK: Embeddings

    func testEmbedding() throws {
        try check("embedding") { f, b in
            b.embedding(try f.integers("ids").map { Int32($0) }, table: try f.tensor("table", on: b))
        }
    }

    func testTimestepEmbedding() throws {
        // Angles reach 999 rad, where one f32 ulp of the argument is 6e-5:
        // sin/cos of the same f32 argument agree to ~1e-6 between libms.
        for name in ["timestep_embedding", "timestep_embedding_odd"] {
            try check(name, atol: 2e-5) { f, b in
                b.timestepEmbedding(try f.floats("timesteps"), dim: f.int("dim")!,
                                    flipSinToCos: f.bool("flip_sin_to_cos"),
                                    downscaleFreqShift: f.float("downscale_freq_shift")!,
                                    maxPeriod: f.float("max_period")!)
            }
        }
    }

    // MARK: Conversion

    func testHalfPrecisionRoundTrips() throws {
        // Rounding to f16/bf16 and back is exact: the reference is bit-equal.
        try check("half_roundtrip", atol: 0, rtol: 0) { f, b in
            try f.tensor("x", on: b).converted(to: .f16).converted(to: .f32)
        }
        try check("bf16_roundtrip", atol: 0, rtol: 0) { f, b in
            try f.tensor("x", on: b).converted(to: .bf16).converted(to: .f32)
        }
    }
}
