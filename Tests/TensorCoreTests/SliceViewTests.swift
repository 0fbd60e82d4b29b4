import TensorCore
import XCTest

/// A CPU slice is a view: it shares its parent's memory and keeps it alive.
final class SliceViewTests: XCTestCase {
    /// The parent dropped and tensors of its size made and filled after it
    /// (the buffer pool's first pick, had the slice let the parent's memory
    /// go), the slice still reads the parent's rows; so does a slice of a
    /// slice, and a slice of an f16 tensor.
    func testSliceKeepsItsParentsRows() {
        let cpu = CPUBackend(threads: 2)
        let values = (0..<60).map(Float.init)
        let rows = cpu.upload(values, shape: [6, 10]).slice(rows: 2..<5)
        let half = cpu.convert(cpu.upload(values, shape: [6, 10]), to: .f16).slice(rows: 4..<6)
        let others = (0..<8).map { _ in cpu.upload([Float](repeating: -1, count: 60), shape: [6, 10]) }
        XCTAssertEqual(rows.shape, [3, 10])
        XCTAssertEqual(rows.toArray(), Array(values[20..<50]))
        XCTAssertEqual(rows.slice(rows: 1..<3).toArray(), Array(values[30..<50]))
        XCTAssertEqual(half.dtype, .f16)
        XCTAssertEqual(cpu.convert(half, to: .f32).toArray(), Array(values[40..<60]))
        XCTAssertEqual(rows.slice(rows: 3..<3).shape, [0, 10])
        withExtendedLifetime(others) {}
    }
}
