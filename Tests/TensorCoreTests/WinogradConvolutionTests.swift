import TensorCore
import TestSupport
import XCTest

/// Winograd against the CPU's direct convolution (itself checked against
/// PyTorch in OpReferenceTests) over the geometries the fixtures do not
/// cover: no padding, asymmetric padding, images smaller than one 4×4 tile,
/// odd sizes, batches, and channel counts that are whole vectors but not
/// powers of two.
final class WinogradConvolutionTests: XCTestCase {
    let direct = CPUBackend(threads: 2, convolution: .direct)
    let winograd = CPUBackend(threads: 2, convolution: .winograd)

    func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state >> 40) / Float(1 << 24) - 0.5
        }
    }

    func testMatchesDirectConvolutionOnEveryGeometry() throws {
        let cases: [(batch: Int, height: Int, width: Int, cin: Int, cout: Int, padding: ConvPadding)] = [
            (1, 9, 7, 8, 16, .none),
            (2, 3, 2, 16, 8, .same(1)),
            (1, 1, 1, 8, 8, .same(1)),
            (1, 5, 6, 24, 40, ConvPadding(top: 0, left: 1, bottom: 2, right: 1)),
            (3, 13, 17, 8, 24, .same(1)),
            (1, 4, 4, 8, 8, .same(2)),
        ]
        for (i, c) in cases.enumerated() {
            let x = values(c.batch * c.height * c.width * c.cin, seed: UInt64(10 + i))
            let w = values(c.cout * 9 * c.cin, seed: UInt64(50 + i)).map { $0 / Float(3 * c.cin).squareRoot() }
            let bias = values(c.cout, seed: UInt64(90 + i))
            let geometry = ConvolutionGeometry(input: [c.batch, c.height, c.width, c.cin], weight: [c.cout, 3, 3, c.cin],
                                               stride: 1, padding: c.padding)
            XCTAssertTrue(winograd.usesWinograd(geometry), "case \(i)")
            let results = [direct, winograd].map { backend in
                backend.upload(x, shape: [c.batch, c.height, c.width, c.cin])
                    .conv2d(backend.upload(w, shape: [c.cout, 3, 3, c.cin]), backend.upload(bias, shape: [c.cout]),
                            padding: c.padding)
            }
            XCTAssertEqual(results[0].shape, results[1].shape, "case \(i)")
            assertClose(results[1].toArray(), results[0].toArray(), atol: 1e-5, rtol: 1e-4,
                                         "Winograd vs direct, case \(i) \(c)")
        }
    }
}
