/// Linear layers, batched matrix products and convolutions: all one GEMM
/// kernel family (gemm.comp, tiled in shared memory; gemm_coopmat.comp on
/// devices with VK_KHR_cooperative_matrix). Convolutions are implicit GEMMs
/// over the NHWC input: the kernel computes im2col addresses while loading
/// its tiles, so no patch matrix is ever written.
extension VulkanBackend {
    /// One matrix product's geometry in elements (see gemm_operands.glsl).
    struct GEMM {
        var m = 0, n = 0, k = 0, batch = 1
        var aOffset = 0, aBatchStride = 0, aRowStride = 0, aColumnStride = 1
        var bOffset = 0, bBatchStride = 0, bRowStride = 0, bColumnStride = 1
        var cOffset = 0, cBatchStride = 0, cRowStride = 0
        var alpha: Float = 1
        /// Convolution geometry (implicit im2col A) when set.
        var conv: (height: Int, width: Int, inChannels: Int, outWidth: Int, outPixels: Int,
                   kernel: Int, stride: Int, padTop: Int, padLeft: Int)?
        /// K per workgroup slice of a split-K product's first pass (0: not split).
        var kSlice = 0
        /// Applied to each element of C as it is stored (epilogue.glsl), after
        /// alpha and the bias; then the residual, when `recordGEMM` gets one.
        var activation: Activation?
        /// GEGLU (epilogue.glsl's EPILOGUE_GATED): `n` logical columns paired
        /// into values and gates, C of n/2 columns; matrix-unit kernel only.
        var gated = false
    }

    /// epilogue.glsl's word: which of the bias, the activation (and its
    /// code) and the residual a product applies as it stores C.
    static func epilogueWord(bias: Bool, activation: Activation?, residual: Bool, gated: Bool = false) -> UInt32 {
        var word: UInt32 = (bias ? 1 : 0) | (residual ? 2 : 0) | (gated ? 8 : 0)
        if let activation { word |= 4 | activationCode(activation) << 8 }
        return word
    }

    /// The K slices of a product with too few output tiles to fill the GPU
    /// (`VulkanOptions.splitKTarget` workgroups): one range when it is not split.
    /// Slices are multiples of 64 (every kernel's BK divides it) and at least
    /// 256 deep, so each still does real work; at most 16.
    func splitK(_ g: GEMM) -> [Range<Int>] {
        let tiles = ((g.m + 63) / 64) * ((g.n + 63) / 64)
        guard splitKTarget > 0, g.kSlice == 0, g.batch == 1, !g.gated, tiles < splitKTarget, g.k >= 512 else {
            return [0..<g.k]
        }
        var count = min((splitKTarget + tiles - 1) / tiles, g.k / 256, 16)
        // The partial sums must fit one binding.
        count = min(count, bindingLimit / max(1, 4 * g.m * g.n))
        guard count > 1 else { return [0..<g.k] }
        let depth = ((g.k + count - 1) / count + 63) / 64 * 64
        return Swift.stride(from: 0, to: g.k, by: depth).map { $0..<min(g.k, $0 + depth) }
    }

    /// A split-K product: each slice's partial product into its own block of
    /// a scratch tensor, then one pass sums them with alpha, the bias and the
    /// rest of the epilogue.
    private func recordSplitK(_ g: GEMM, slices: [Range<Int>], a: BufferUse, b: Tensor, bias: Tensor?, c: BufferUse,
                              residual: BufferUse?, kind: OpProfile.Kind?) {
        let partial = makeTensor([slices.count, g.m, g.n])
        var first = g
        first.kSlice = slices[0].count
        first.activation = nil
        // Workgroup z is the slice: A and B are the same for every slice, each writes its own block.
        (first.aBatchStride, first.bBatchStride) = (0, 0)
        (first.cOffset, first.cBatchStride, first.cRowStride, first.alpha) = (0, g.m * g.n, g.n, 1)
        recordGEMM(first, a: a, b: b, bias: nil, c: .write(partial.vulkanBuffer, bytes: partial.byteCount), kind: kind)
        let (suffix, operands) = weights([b, bias])
        let biasOperand = operands[1]
        dispatch1D("gemm_splitk_sum\(biasOperand == nil ? "" : suffix)",
                   [.read(partial.vulkanBuffer, bytes: partial.byteCount),
                    biasOperand.map { .read($0.vulkanBuffer, bytes: $0.byteCount) } ?? .read(dummy, bytes: 0), c,
                    residual ?? .read(dummy, bytes: 0)],
                   push: [UInt32(size: g.m * g.n), UInt32(size: g.n), UInt32(size: slices.count), g.alpha.pushBits,
                          Self.epilogueWord(bias: biasOperand != nil, activation: g.activation, residual: residual != nil),
                          UInt32(size: g.cOffset), UInt32(size: g.cRowStride)],
                   count: g.m * g.n)
    }

    /// Whether a product has enough 128×128 output tiles (one per workgroup)
    /// to fill a large GPU, about one wave of a hundred-odd multiprocessors;
    /// fewer take 64×64 tiles, four times as many workgroups.
    static func fillsLargeTiles(_ g: GEMM) -> Bool {
        guard g.kSlice == 0 else { return false }
        return ((g.m + 127) / 128) * ((g.n + 127) / 128) * g.batch >= 128
    }

    /// gemm_tiles.glsl's VECTOR_* bits: which operands can be fetched 4
    /// elements at a time, from offsets and strides that are multiples of 4
    /// (bindings start 256-byte aligned) with the 4 inside one row of K or N.
    static func vectorizedOperands(_ g: GEMM) -> UInt32 {
        func aligned(_ values: Int...) -> Bool { values.allSatisfy { $0 % 4 == 0 } }
        var bits: UInt32 = 0
        if let conv = g.conv {
            if aligned(g.aOffset, conv.inChannels) { bits |= 1 }
        } else if g.aColumnStride == 1 && aligned(g.aOffset, g.aBatchStride, g.aRowStride, g.k) {
            bits |= 1
        }
        if g.bRowStride == 1 && aligned(g.bOffset, g.bBatchStride, g.bColumnStride, g.k) {
            bits |= 2
        } else if g.bColumnStride == 1 && aligned(g.bOffset, g.bBatchStride, g.bRowStride, g.n) {
            bits |= 4
        }
        return bits
    }

    /// The most output rows one product dispatch covers: 65535 workgroups of
    /// the smallest tile height.
    static let maxProductRows = 65535 * 32

    /// Records C = act(alpha·A·B (+ bias)) (+ residual): `a` an f32
    /// activation's binding, `c` the output's, `residual` one laid out as `c`
    /// (the same element offsets). `kind` files its time under another op in
    /// `--profile` (attention's score products).
    func recordGEMM(_ g: GEMM, a: BufferUse, b: Tensor, bias: Tensor?, c: BufferUse, residual: BufferUse? = nil,
                    kind: OpProfile.Kind? = nil) {
        guard g.m > 0 && g.n > 0 && g.batch > 0 else { return }
        let slices = splitK(g)
        if slices.count > 1 {
            recordSplitK(g, slices: slices, a: a, b: b, bias: bias, c: c, residual: residual, kind: kind)
            return
        }
        let (suffix, operands) = weights([b, bias])
        let bOperand = operands[0]!, biasOperand = operands[1]
        let conv = g.conv != nil ? "_conv" : ""
        var push: [UInt32] = [g.m, g.n, g.k, g.aOffset, g.aBatchStride, g.aRowStride, g.aColumnStride,
                              g.bOffset, g.bBatchStride, g.bRowStride, g.bColumnStride,
                              g.cOffset, g.cBatchStride, g.cRowStride].map { UInt32(size: $0) }
        push.append(g.alpha.pushBits)
        push.append(Self.epilogueWord(bias: biasOperand != nil, activation: g.activation, residual: residual != nil,
                                      gated: g.gated))
        let cv = g.conv ?? (0, 0, 0, 0, 0, 0, 0, 0, 0)
        push += [cv.height, cv.width, cv.inChannels, cv.outWidth, cv.outPixels, cv.kernel, cv.stride,
                 cv.padTop, cv.padLeft].map { UInt32(size: $0) }
        push.append(UInt32(size: g.kSlice))
        let uses: [BufferUse] = [
            a,
            .read(bOperand.vulkanBuffer, bytes: bOperand.byteCount),
            biasOperand.map { .read($0.vulkanBuffer, bytes: $0.byteCount) } ?? .read(dummy, bytes: 0),
            c,
            residual ?? .read(dummy, bytes: 0),
        ]
        push.append(Self.vectorizedOperands(g))
        let pipeline: ComputePipeline
        let tileM: Int, tileN: Int
        precondition(!g.gated || fusesGEGLU, "a gated product needs the matrix-unit kernel")
        if usesCooperativeMatrix && !FullPrecisionProducts.isRequired {
            let subgroup = UInt32(max(1, info.subgroupSize))
            let name: String, subgroups: UInt32
            if legacyMatrixKernel {
                (name, subgroups, tileM, tileN) = ("gemm_coopmat_legacy", 4, 64, 64)
            } else if Self.fillsLargeTiles(g) {
                (name, subgroups, tileM, tileN) = ("gemm_coopmat_large", 8, 128, 128)
            } else {
                (name, subgroups, tileM, tileN) = ("gemm_coopmat", 4, 64, 64)
            }
            pipeline = pipelines.require("\(name)\(conv)\(suffix)", specialization: [subgroup, subgroups * subgroup])
        } else {
            // Small products get 32×32 tiles so more workgroups run at once.
            let small = g.m < 64 || g.n < 64 || g.m * g.n * g.batch < 64 * 64 * 16
            // Both take 256 threads, one 4-element fetch per thread and operand per K step.
            let (bm, bn, bk, tm, tn) = small ? (32, 32, 32, 2, 2) : (64, 64, 16, 4, 4)
            let threads = (bm / tm) * (bn / tn)
            pipeline = pipelines.require("gemm\(conv)\(suffix)", specialization: [
                UInt32(bm), UInt32(bn), UInt32(bk), UInt32(tm), UInt32(tn), UInt32(threads)])
            (tileM, tileN) = (bm, bn)
        }
        let depth = g.kSlice > 0 ? (g.k + g.kSlice - 1) / g.kSlice : g.batch
        precondition(depth <= 65535 && (g.m + tileM - 1) / tileM <= 65535, "matrix product too large for one dispatch")
        recorder.dispatch(pipeline, uses, push: push,
                          groups: ((g.n + tileN - 1) / tileN, (g.m + tileM - 1) / tileM, depth), kind: kind,
                          label: { "\(pipeline.name) \(g.m)×\(g.n)×\(g.k)\(g.batch > 1 ? " ×\(g.batch)" : "")" },
                          flops: 2 * Double(g.m) * Double(g.n) * Double(g.k) * Double(g.batch))
    }

    /// The activation and the residual applied by the product as it stores
    /// each element: one dispatch, not three.
    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, activation: Activation?,
                       residual: Tensor?) -> Tensor {
        linear(x, weight: weight, bias: bias, activation: activation, residual: residual, kind: nil)
    }

    /// `kind` files a 1×1 convolution's product under convolutions in `--profile`.
    /// `gated`: GEGLU's pairing (`GEMM.gated`, only where `fusesGEGLU`), C of half the outputs.
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, activation: Activation? = nil, residual: Tensor? = nil,
                gated: Bool = false, kind: OpProfile.Kind?) -> Tensor {
        let geometry = LinearGeometry(input: x.shape, weight: weight.shape, bias: bias?.shape, residual: residual?.shape)
        let (k, n, rows, outShape) = (geometry.inputs, geometry.outputs, geometry.rows, geometry.outputShape)
        if k == 0 {
            // An empty sum: the bias alone (or zeros), then the epilogue.
            let sum = bias.map { binary(zeros(outShape, dtype: .f32), f32($0), .add) } ?? zeros(outShape, dtype: .f32)
            let activated = activation.map { self.activation(sum, $0) } ?? sum
            let added = residual.map { binary(activated, $0, .add) } ?? activated
            return gated ? geglu(added) : added
        }
        let width = gated ? n / 2 : n
        let input = f32(x), added = residual.map(f32)
        let out = makeTensor(Array(outShape.dropLast()) + [width])
        // Rows are independent: a large input or output is taken in windows of rows.
        for window in windows(units: rows, unitBytes: [4 * k, 4 * width], maxUnits: Self.maxProductRows) {
            var g = GEMM()
            (g.m, g.n, g.k) = (window.count, n, k)
            (g.aRowStride, g.aColumnStride) = (k, 1)
            (g.bRowStride, g.bColumnStride) = (1, k)        // B(k, n) = W[n, k]
            g.cRowStride = width
            g.activation = activation
            g.gated = gated
            recordGEMM(g, a: self.window(input.vulkanBuffer, window, unitBytes: 4 * k, write: false), b: weight, bias: bias,
                       c: self.window(out.vulkanBuffer, window, unitBytes: 4 * width, write: true),
                       residual: added.map { self.window($0.vulkanBuffer, window, unitBytes: 4 * width, write: false) },
                       kind: kind)
        }
        return out
    }

    /// Whether GEGLU's gating can ride on its projection's store: the
    /// matrix-unit kernel's subgroups hold the value and gate fragments a
    /// gated product pairs; the portable and the first matrix-unit kernels
    /// take the product, then `geglu`. A lane holds 256 / subgroup-size values
    /// of a fragment (at most 32: gemm_coopmat.comp's MOST_PER_LANE).
    var fusesGEGLU: Bool {
        usesCooperativeMatrix && !legacyMatrixKernel && !FullPrecisionProducts.isRequired && info.subgroupSize >= 8
    }

    /// diffusers' GEGLU module in one dispatch where `fusesGEGLU` and the
    /// projection's 2H outputs pair into blocks of 16 values and 16 gates:
    /// value·GELU(gate) stored with the rounding of the separate ops.
    public func geglu(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let outputs = weight.shape.first ?? 0
        precondition(outputs % 2 == 0, "geglu: odd projection width \(outputs)")
        let pairs = fusesGEGLU && outputs % 32 == 0
        let product = linear(x, weight: weight, bias: bias, gated: pairs, kind: nil)
        return pairs ? product : geglu(product)
    }

    public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, alpha: Float) -> Tensor {
        let geometry = MatmulGeometry(a: a.shape, b: b.shape, transposeA: transposeA, transposeB: transposeB)
        let (batch, m, n, k) = (geometry.batch, geometry.m, geometry.n, geometry.k)
        let out = makeTensor([batch, m, n])
        if k == 0 { return zeros([batch, m, n], dtype: .f32) }
        var g = GEMM()
        (g.m, g.n, g.k, g.batch) = (m, n, k, batch)
        g.aBatchStride = a.shape[1] * a.shape[2]
        (g.aRowStride, g.aColumnStride) = transposeA ? (1, m) : (k, 1)
        g.bBatchStride = geometry.bBatchStride
        (g.bRowStride, g.bColumnStride) = transposeB ? (1, k) : (n, 1)
        (g.cBatchStride, g.cRowStride) = (m * n, n)
        g.alpha = alpha
        let input = f32(a)
        recordGEMM(g, a: .read(input.vulkanBuffer, bytes: input.byteCount), b: b, bias: nil,
                   c: .write(out.vulkanBuffer, bytes: out.byteCount))
        return out
    }

    /// The residual, like the bias, added by the product as it stores each output.
    public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: ConvPadding,
                       residual: Tensor?) -> Tensor {
        let geometry = ConvolutionGeometry(input: x.shape, weight: weight.shape, stride: stride, padding: padding)
        let (batch, height, width, cin) = (geometry.batch, geometry.height, geometry.width, geometry.inputChannels)
        let (cout, kernel, outH, outW) = (geometry.outputChannels, geometry.kernel, geometry.outputHeight, geometry.outputWidth)
        if geometry.isPointwise {
            return linear(x, weight: weight.reshaped([cout, cin]), bias: bias, residual: residual, kind: .convolutions)
        }
        geometry.check(bias: bias?.shape, residual: residual?.shape)
        let out = makeTensor([batch, outH, outW, cout])
        let input = f32(x), added = residual.map(f32)
        let patch = kernel * kernel * cin
        let kernelMatrix = weight.reshaped([cout, patch])
        var g = GEMM()
        (g.bRowStride, g.bColumnStride) = (1, patch)    // B(k, n) = W[n, k]
        (g.n, g.k) = (cout, patch)
        g.cRowStride = cout
        let whole = input.byteCount <= bindingLimit && out.byteCount <= bindingLimit
            && batch * outH * outW <= Self.maxProductRows
        if whole {
            g.m = batch * outH * outW
            g.conv = (height, width, cin, outW, outH * outW, kernel, stride, padding.top, padding.left)
            recordGEMM(g, a: .read(input.vulkanBuffer, bytes: input.byteCount), b: kernelMatrix, bias: bias,
                       c: .write(out.vulkanBuffer, bytes: out.byteCount),
                       residual: added.map { .read($0.vulkanBuffer, bytes: $0.byteCount) })
            return out
        }
        // Too large to bind at once: each image in windows of output rows,
        // each reading the input rows under it (the halo included) as an
        // image of its own whose top padding is what remains above it.
        let inputRow = width * cin, outputRow = outW * cout
        // A window's binding starts up to one alignment before its first element.
        let inputRowsFit = (bindingLimit - offsetAlignment) / (4 * inputRow)
        let outputRowsFit = (bindingLimit - offsetAlignment) / (4 * outputRow)
        let rowsPerWindow = min((inputRowsFit - kernel) / stride + 1, outputRowsFit, Self.maxProductRows / outW)
        guard rowsPerWindow >= 1 else {
            preconditionFailure("conv2d: one output row of \(x.shape) needs more than the \(bindingLimit)-byte binding limit")
        }
        for image in 0..<batch {
            for oy0 in Swift.stride(from: 0, to: outH, by: rowsPerWindow) {
                let oy1 = min(outH, oy0 + rowsPerWindow)
                let iy0 = max(0, oy0 * stride - padding.top)
                let iy1 = min(height, (oy1 - 1) * stride - padding.top + kernel)
                let rowsIn = max(0, iy1 - iy0)
                let a = window(input.vulkanBuffer, from: (image * height + iy0) * inputRow, count: rowsIn * inputRow, write: false)
                let c = window(out.vulkanBuffer, from: (image * outH + oy0) * outputRow, count: (oy1 - oy0) * outputRow,
                               write: true)
                // The same elements of a tensor of the same shape: the same offset, so the same skip.
                let r = added.map { window($0.vulkanBuffer, from: (image * outH + oy0) * outputRow,
                                           count: (oy1 - oy0) * outputRow, write: false) }
                g.m = (oy1 - oy0) * outW
                g.aOffset = a.skip
                g.cOffset = c.skip
                g.conv = (rowsIn, width, cin, outW, g.m, kernel, stride, padding.top + iy0 - oy0 * stride, padding.left)
                recordGEMM(g, a: a.use, b: kernelMatrix, bias: bias, c: c.use, residual: r?.use)
            }
        }
        return out
    }

    /// Runs products on the cooperative-matrix kernels and on the portable
    /// one and compares: a driver whose matrix units misbehave is not used.
    /// The cases cover both tile shapes, checked and 16-byte fetches, B
    /// stored either way, and an implicit-im2col convolution.
    func selfTestCooperativeMatrix() -> Bool {
        // Values exact in f16, sums exact in f32: only the accumulation order differs.
        func values(_ count: Int, _ prime: Int, _ modulus: Int) -> [Float] {
            (0..<count).map { Float(($0 * prime) % modulus) / 8 - Float(modulus / 2) / 8 }
        }
        func tensor(_ shape: [Int], _ prime: Int, dtype: DType = .f32) -> Tensor {
            upload(values(shape.reduce(1, *), prime, prime % 2 == 0 ? 12 : 13), shape: shape, dtype: dtype)
        }
        let w = weightDType
        let cases: [() -> Tensor] = [
            { self.linear(tensor([70, 45], 7919), weight: tensor([37, 45], 104_729, dtype: w), bias: nil, kind: nil) },
            { self.linear(tensor([2048, 64], 7919), weight: tensor([1024, 64], 104_729, dtype: w),
                          bias: tensor([1024], 31, dtype: w), kind: nil) },
            { self.matmul(tensor([2, 70, 48], 7919), tensor([2, 48, 40], 104_729), transposeA: false,
                          transposeB: false, alpha: 0.5) },
            { self.conv2d(tensor([2, 9, 11, 8], 7919), weight: tensor([20, 3, 3, 8], 104_729, dtype: w),
                          bias: tensor([20], 31, dtype: w),
                          stride: 1, padding: ConvPadding(top: 1, left: 1, bottom: 1, right: 1), residual: nil) },
        ]
        for product in cases {
            let fast = product().toArray()
            usesCooperativeMatrix = false
            let portable = product().toArray()
            usesCooperativeMatrix = true
            guard zip(fast, portable).allSatisfy({ abs($0 - $1) <= 1e-3 * max(1, abs($1)) }) else { return false }
        }
        return true
    }
}
