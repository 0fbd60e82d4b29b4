import TensorCore
import XCTest

/// A cancelled `ComputeCancellation` bound to the calling thread makes the CPU
/// backend skip its work (products, element-wise loops, attention), so a
/// cancelled step ends at once; bound but not cancelled, or no longer bound,
/// everything computes as usual.
final class ComputeCancellationTests: XCTestCase {
    func testCancelledWorkIsSkippedAndOnlyWhileBound() {
        let cpu = CPUBackend(threads: 2)
        var state: UInt32 = 12345
        func random(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                state = state &* 1_664_525 &+ 1_013_904_223
                return Float(state >> 8) / Float(1 << 24) - 0.5
            }
        }
        let x = cpu.upload(random(256 * 512), shape: [1, 256, 512])
        let w = cpu.upload(random(512 * 512), shape: [512, 512])
        let ops: [(String, () -> Tensor)] = [
            ("linear", { x.linear(w) }),
            ("gelu", { x.gelu() }),
            ("attention", { cpu.attention(q: x, k: x, v: x, heads: 8, scale: 0.125, causal: false, keyMask: nil) }),
        ]
        // Results stay alive throughout, so no buffer of one is recycled into another.
        let reference = ops.map { $0.1() }
        let flag = ComputeCancellation()
        let bound = ComputeCancellation.$current.withValue(flag) { ops.map { $0.1() } }
        flag.cancel()
        let cancelled = ComputeCancellation.$current.withValue(flag) { ops.map { $0.1() } }
        let unbound = ops.map { $0.1() }
        for (index, (name, _)) in ops.enumerated() {
            let expected = reference[index].toArray()
            XCTAssertEqual(bound[index].toArray(), expected, "\(name) bound, not cancelled")
            XCTAssertEqual(cancelled[index].shape, reference[index].shape, "\(name) cancelled keeps its shape")
            XCTAssertNotEqual(cancelled[index].toArray(), expected, "\(name) cancelled still computed")
            XCTAssertEqual(unbound[index].toArray(), expected, "\(name) after the binding")
        }
    }
}
