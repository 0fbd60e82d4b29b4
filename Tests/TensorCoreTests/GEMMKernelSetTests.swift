import Foundation
import SafeTensors
import TensorCore
import TestSupport
import XCTest

/// Every CPU kernel set's product on the shapes where register tiles and
/// blocks go ragged (M, N and K one short of, equal to and one past the 6×16
/// and 12×32 tiles and the 4- and 8-row tiles a short last tile takes; K past
/// a block), each transpose, f16/bf16 weights and
/// beta = 1, against the same product summed in float64 — the definition,
/// which PyTorch's op fixtures only sample at a few shapes.
///
/// Tolerance: 2e-6 · K absolute on unit-scale operands (f32 accumulation over K terms in another order).
final class GEMMKernelSetTests: XCTestCase {
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    func testRaggedShapesOnEveryKernelSet() throws {
        let sizes = [(1, 1, 1), (5, 15, 7), (6, 16, 8), (7, 17, 9), (8, 32, 40), (9, 48, 33), (11, 31, 3), (12, 32, 64),
                     (13, 33, 65),
                     (97, 50, 300), (200, 40, 17), (3, 70, 1030), (4, 36, 1282), (25, 40, 2049), (2, 20, 8200)]
        for kernels in CPUKernelSet.available {
            let backend = CPUBackend(threads: 2, kernels: kernels)
            for (m, n, k) in sizes {
                for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
                    check(backend, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
                }
            }
        }
    }

    /// `--precision bf16` on the same ragged shapes, K blocks included (the
    /// bf16 kernel blocks K by pairs, so past 2560 rather than 1280): against
    /// both operands rounded to bfloat16 and multiplied in float64, the
    /// product the bf16 kernel and its emulation define.
    func testRaggedShapesInBFloat16() throws {
        let sizes = [(1, 1, 1), (13, 33, 65), (3, 70, 1030), (25, 40, 2049), (7, 40, 2562), (5, 36, 2563), (2, 20, 8200)]
        for backend in TestBackends.cpuBFloat16 {
            for (m, n, k) in sizes {
                for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
                    check(backend, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                          operand: Self.roundedToBFloat16)
                }
            }
        }
    }

    /// Round to nearest even at 8 significant bits (finite values only).
    static func roundedToBFloat16(_ x: Float) -> Float {
        let bits = x.bitPattern
        return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
    }

    /// The model's weight products: x·Wᵀ + bias with W kept f16 or bf16 (so
    /// exactly representable), through `linear` on every kernel set.
    func testStoredHalfWeightsOnEveryKernelSet() throws {
        for kernels in CPUKernelSet.available {
            let backend = CPUBackend(threads: 2, kernels: kernels)
            for (rows, outputs, inputs) in [(7, 33, 19), (130, 70, 320), (2500, 24, 40)] {
                for dtype in [DType.f16, .bf16] {
                    let x = Self.values(rows * inputs, seed: 1)
                    let stored = backend.convert(backend.upload(Self.values(outputs * inputs, seed: 2),
                                                                shape: [outputs, inputs]), to: dtype)
                    let w = stored.toArray()  // the representable values the product must use
                    let bias = Self.values(outputs, seed: 3)
                    let result = backend.upload(x, shape: [rows, inputs])
                        .linear(stored, backend.upload(bias, shape: [outputs])).toArray()
                    var expected = [Float](repeating: 0, count: rows * outputs)
                    for i in 0..<rows {
                        for j in 0..<outputs {
                            var sum = Double(bias[j])
                            for p in 0..<inputs { sum += Double(x[i * inputs + p]) * Double(w[j * inputs + p]) }
                            expected[i * outputs + j] = Float(sum)
                        }
                    }
                    assertClose(result, expected, atol: 2e-6 * Float(inputs), rtol: 0,
                                "linear \(rows)×\(outputs)×\(inputs), \(dtype) weights, \(backend.name)")
                }
            }
        }
    }

    /// f32 weights packed once into the kernel's panels (`PackedPanels`):
    /// ragged panels, K past a block, products split by rows and by panels,
    /// against the definition, on every kernel set that packs them.
    func testPrepackedWeightsOnEveryKernelSet() throws {
        for kernels in CPUKernelSet.available where kernels >= .avx2 {
            checkPrepacked(on: CPUBackend(threads: 2, kernels: kernels, tuning: Self.prepackingEverything),
                           shapes: [(1, 1, 1), (5, 33, 19), (13, 70, 300), (128, 96, 1030), (300, 40, 17),
                                    (40, 700, 160), (2, 2000, 1100), (600, 64, 2100),
                                    // Split over the workers in runs of columns, the last panel ragged:
                                    (37, 1000, 300), (130, 2050, 64),
                                    // Split by rows with fewer than two A blocks of them (halves):
                                    (90, 40, 3000)])
        }
    }

    /// bf16 products on prepacked panels (the weight rounded to bf16 pairs
    /// once; odd K leaves a half pair), against both operands rounded to
    /// bf16 and multiplied in float64.
    func testPrepackedWeightsInBFloat16() throws {
        guard CPUKernelSet.available.contains(.avx512BF16) else {
            throw XCTSkip("bf16 panels are the AVX-512 BF16 kernel's; this CPU has no VDPBF16PS")
        }
        checkPrepacked(on: CPUBackend(threads: 2, precision: .bf16, kernels: .avx512BF16,
                                      tuning: Self.prepackingEverything),
                       shapes: [(1, 1, 1), (5, 33, 19), (128, 96, 1031), (40, 700, 160), (2, 2000, 2100),
                                (600, 64, 4099)],
                       operand: Self.roundedToBFloat16)
    }

    private static var prepackingEverything: CPUBackend.Tuning {
        var tuning = CPUBackend.Tuning()
        tuning.prepacksAllWeights = true
        return tuning
    }

    /// x·Wᵀ + bias through `linear` on `backend`, which must have prepacked
    /// W, against the definition on operands rounded by `operand`.
    private func checkPrepacked(on backend: CPUBackend, shapes: [(Int, Int, Int)],
                                operand: (Float) -> Float = { $0 }) {
        for (rows, outputs, inputs) in shapes {
            let x = Self.values(rows * inputs, seed: 4), w = Self.values(outputs * inputs, seed: 5)
            let bias = Self.values(outputs, seed: 6)
            let weight = backend.upload(w, shape: [outputs, inputs])
            let result = backend.upload(x, shape: [rows, inputs])
                .linear(weight, backend.upload(bias, shape: [outputs])).toArray()
            XCTAssertTrue(backend.hasPackedPanels(weight), "\(backend.name) did not prepack the weight")
            let expected = Self.linear(x.map(operand), w.map(operand), bias, rows: rows, outputs: outputs,
                                       inputs: inputs)
            assertClose(result, expected, atol: 2e-6 * Float(inputs), rtol: 0,
                        "prepacked linear \(rows)×\(outputs)×\(inputs), \(backend.name)")
        }
    }

    /// By default a weight is prepacked where it is a mapped file's pages —
    /// which are then dropped, yet still read back right — and not where
    /// it lives in the process's own memory (the panels would be a copy).
    func testMappedWeightsArePrepackedAndStayReadable() throws {
        let backend = CPUBackend(threads: 2)
        let (rows, outputs, inputs) = (64, 96, 2000)
        let x = Self.values(rows * inputs, seed: 7), w = Self.values(outputs * inputs, seed: 8)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("prepacked-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensorsWriter.write([.init(name: "w", shape: [outputs, inputs], floats: w)], to: url)
        let file = try SafeTensorsFile(url: url)
        let mapped = try file.tensor("w", on: backend)
        let owned = backend.upload(w, shape: [outputs, inputs])
        let input = backend.upload(x, shape: [rows, inputs])
        let expected = Self.linear(x, w, nil, rows: rows, outputs: outputs, inputs: inputs)
        assertClose(input.linear(mapped).toArray(), expected, atol: 2e-6 * Float(inputs), rtol: 0, "mapped weight")
        assertClose(input.linear(owned).toArray(), expected, atol: 2e-6 * Float(inputs), rtol: 0, "owned weight")
        XCTAssertEqual(backend.hasPackedPanels(mapped), backend.kernels >= .avx2)
        XCTAssertFalse(backend.hasPackedPanels(owned))
        XCTAssertEqual(mapped.toArray(), w, "the dropped pages read back from the file")
    }

    /// x·Wᵀ + bias summed in float64.
    static func linear(_ x: [Float], _ w: [Float], _ bias: [Float]?, rows: Int, outputs: Int, inputs: Int) -> [Float] {
        var expected = [Float](repeating: 0, count: rows * outputs)
        for i in 0..<rows {
            for j in 0..<outputs {
                var sum = Double(bias?[j] ?? 0)
                for p in 0..<inputs { sum += Double(x[i * inputs + p]) * Double(w[j * inputs + p]) }
                expected[i * outputs + j] = Float(sum)
            }
        }
        return expected
    }

    /// SDGEN_CPU narrows the set; a name it does not know, or a set this CPU
    /// cannot run, is refused with the sets there are.
    func testEnvironmentNarrowsTheKernelSet() throws {
        XCTAssertEqual(try CPUKernelSet.fromEnvironment([:]), CPUKernelSet.detected)
        XCTAssertEqual(try CPUKernelSet.fromEnvironment(["SDGEN_CPU": ""]), CPUKernelSet.detected)
        for set in CPUKernelSet.available {
            XCTAssertEqual(try CPUKernelSet.fromEnvironment(["SDGEN_CPU": set.rawValue.uppercased()]), set)
        }
        XCTAssertThrowsError(try CPUKernelSet.fromEnvironment(["SDGEN_CPU": "sse9"])) { error in
            XCTAssertEqual(error as? CPUKernelSetError, .unknown("sse9"))
            XCTAssertTrue("\(error)".contains("generic, avx2, avx512, avx512-bf16"), "\(error)")
        }
        for set in CPUKernelSet.allCases where set > CPUKernelSet.detected {
            XCTAssertThrowsError(try CPUKernelSet.fromEnvironment(["SDGEN_CPU": set.rawValue])) { error in
                XCTAssertEqual(error as? CPUKernelSetError, .unsupported(set, detected: CPUKernelSet.detected))
            }
        }
    }

    /// `operand`: what the product must make of each input value (itself in
    /// f32; its bf16 rounding in bf16 precision).
    private func check(_ backend: CPUBackend, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool,
                       operand: (Float) -> Float = { $0 }, file: StaticString = #filePath, line: UInt = #line) {
        let a = Self.values(m * k, seed: UInt64(m * 7 + k)), b = Self.values(k * n, seed: UInt64(n * 13 + k))
        let alpha: Float = 0.75
        let left = backend.upload(a, shape: [1] + (transposeA ? [k, m] : [m, k]))
        let right = backend.upload(b, shape: [1] + (transposeB ? [n, k] : [k, n]))
        let result = left.matmul(right, transposeA: transposeA, transposeB: transposeB, alpha: alpha).toArray()
        var expected = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * m + i] : a[i * k + p], y = transposeB ? b[j * k + p] : b[p * n + j]
                    sum += Double(operand(x)) * Double(operand(y))
                }
                expected[i * n + j] = Float(Double(alpha) * sum)
            }
        }
        assertClose(result, expected, atol: 2e-6 * Float(k), rtol: 0,
                    "\(m)×\(n)×\(k) A\(transposeA ? "ᵀ" : "")·B\(transposeB ? "ᵀ" : "") on \(backend.name)",
                    file: file, line: line)
    }
}
