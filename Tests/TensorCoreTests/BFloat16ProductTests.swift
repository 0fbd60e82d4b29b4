import TensorCore
import TestSupport
import XCTest

/// `--precision bf16` against references that round both operands of every
/// product to bfloat16 and multiply exactly (Tests/Fixtures/bf16, written by
/// scripts/reference/fixtures_bf16.py): the kernel and its emulation must
/// match them to f32 accumulation error. An f32 product misses them by ~1e-2,
/// so these fail if the bf16 path is not taken.
///
/// Tolerance: 2e-5 absolute + 1e-4 relative, as for f32 ops (products are
/// summed in f32 in another order than the float64 reference); attention gets
/// 5e-5 because an f32 exponential one ulp from torch's can round to the
/// neighbouring bf16 value.
final class BFloat16ProductTests: XCTestCase {
    let atol: Float = 2e-5, rtol: Float = 1e-4

    func check(_ name: String, atol: Float? = nil, on backends: [CPUBackend] = TestBackends.cpuBFloat16,
               file: StaticString = #filePath, line: UInt = #line,
               _ compute: (Fixture, CPUBackend) throws -> Tensor) throws {
        let fixture = try Fixture("bf16/\(name).safetensors")
        for backend in backends {
            let result = try compute(fixture, backend)
            XCTAssertEqual(result.shape, fixture.shape("out"), "\(name) on \(backend.name)", file: file, line: line)
            assertClose(result.toArray(), try fixture.floats("out"), atol: atol ?? self.atol, rtol: rtol,
                        "bf16 \(name) on \(backend.name)", file: file, line: line)
        }
    }

    func testLinearWithF32AndF16Weights() throws {
        for name in ["linear", "linear_split_rows", "linear_split_columns"] {
            for weightDType in [DType.f32, .f16] {
                try check(name) { f, b in
                    let weight = b.convert(try f.tensor("weight", on: b), to: weightDType)
                    return try f.tensor("x", on: b).linear(weight, try f.tensor("bias", on: b))
                }
            }
        }
    }

    func testBatchedProducts() throws {
        try check("matmul") { f, b in try f.tensor("a", on: b).matmul(try f.tensor("b", on: b)) }
        try check("matmul_ta") { f, b in
            try f.tensor("a", on: b).matmul(try f.tensor("b", on: b), transposeA: true)
        }
        try check("matmul_tb") { f, b in
            try f.tensor("a", on: b).matmul(try f.tensor("b", on: b), transposeB: true, alpha: f.float("alpha")!)
        }
    }

    func testDirectConvolution() throws {
        let direct = TestBackends.cpuBFloat16.map {
            CPUBackend(threads: $0.threads, convolution: .direct, precision: .bf16, kernels: $0.kernels, tuning: $0.tuning)
        }
        // conv2d_patches*: 256 input channels, which the AVX-512 BF16 kernel
        // multiplies over the implicit patch matrix (K past one block).
        for name in ["conv2d_direct", "conv2d_patches", "conv2d_patches_s2"] {
            for weightDType in [DType.f32, .f16] {
                try check(name, on: direct) { f, b in
                    let x = try f.tensor("x", on: b).permuted([0, 2, 3, 1])
                    let weight = b.convert(try f.tensor("weight", on: b).permuted([0, 2, 3, 1]), to: weightDType)
                    return b.conv2d(x, weight: weight, bias: try f.tensor("bias", on: b), stride: f.int("stride")!,
                                    padding: .same(f.int("padding")!), residual: nil).permuted([0, 3, 1, 2])
                }
            }
        }
    }

    func testAttention() throws {
        for name in ["attention_self", "attention_cross", "attention_causal", "attention_causal_split",
                     "attention_wide_heads", "attention_mask"] {
            try check(name, atol: 5e-5) { f, b in
                let mask = f.shape("key_mask").isEmpty ? nil : try f.tensor("key_mask", on: b)
                return b.attention(q: try f.tensor("q", on: b), k: try f.tensor("k", on: b), v: try f.tensor("v", on: b),
                                   heads: f.int("heads")!, scale: f.float("scale")!, causal: f.bool("causal"), keyMask: mask)
            }
        }
    }

    /// Winograd's point products stay f32 under bf16 precision (rounding the
    /// transformed operands cost 25% of the output, see WinogradConvolution),
    /// so a bf16 backend's Winograd convolutions meet the f32 references and
    /// their f32 tolerance (3e-5, OpReferenceTests).
    func testWinogradConvolutionStaysF32() throws {
        let winograd = TestBackends.cpuBFloat16.map {
            CPUBackend(threads: $0.threads, convolution: .winograd, precision: .bf16, kernels: $0.kernels, tuning: $0.tuning)
        }
        for name in ["conv2d_3x3_winograd", "conv2d_3x3_winograd_deep"] {
            let fixture = try Fixture("ops/\(name).safetensors")
            for b in winograd {
                XCTAssertTrue(b.usesWinograd(OpReferenceTests.geometry(fixture)))
                let x = try fixture.tensor("x", on: b).permuted([0, 2, 3, 1])
                let weight = try fixture.tensor("weight", on: b).permuted([0, 2, 3, 1])
                let y = b.conv2d(x, weight: weight, bias: try fixture.tensor("bias", on: b), stride: 1,
                                 padding: OpReferenceTests.padding(fixture), residual: nil).permuted([0, 3, 1, 2])
                assertClose(y.toArray(), try fixture.floats("out"), atol: 3e-5, rtol: 1e-4,
                            "bf16-precision Winograd \(name) on \(b.name)")
            }
        }
    }

    func testPrecisionIsNamed() {
        XCTAssertTrue(TestBackends.cpuBFloat16.allSatisfy { $0.name.contains("bf16") })
        XCTAssertFalse(TestBackends.cpu.name.contains("bf16"))
    }
}
