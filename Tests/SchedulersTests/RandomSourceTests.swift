import Foundation
import Schedulers
import TestSupport
import XCTest

/// `TorchRandomSource` against `torch.randn` on the CPU generator and
/// `PhiloxRandomSource` against the numpy Philox reference, bit for bit
/// (Tests/Fixtures/rng/rng.json), over sizes below, at and above 16 and not
/// multiples of 16, seeds above 2^32 and 2^63, and successive draws from one
/// generator.
final class RandomSourceTests: XCTestCase {
    struct Case: Decodable {
        let rng: String
        let seed: String
        let shape: [Int]
        let count: Int
        let fnv1a64: String
        let bits: [UInt32]?
        let head_bits: [UInt32]?
        let tail_bits: [UInt32]?
        let file: String?
    }

    struct Sequence: Decodable {
        let rng: String
        let seed: String
        let shapes: [[Int]]
        let bits: [[UInt32]]
    }

    struct Fixture: Decodable {
        let cases: [Case]
        let sequences: [Sequence]
    }

    static let fixture: Fixture = {
        let url = FixturePaths.url("rng/rng.json")
        // swiftlint:disable:next force_try
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    func source(_ rng: String, seed: String) throws -> any RandomSource {
        let kind = try XCTUnwrap(RandomSourceKind(rawValue: rng))
        return kind.makeSource(seed: try XCTUnwrap(UInt64(seed)))
    }

    func check(rng: String) throws {
        let cases = Self.fixture.cases.filter { $0.rng == rng }
        XCTAssertGreaterThanOrEqual(cases.count, 40)
        var files = 0
        for c in cases {
            var random = try source(rng, seed: c.seed)
            let values = random.normal(count: c.count)
            let label = "\(rng) seed \(c.seed) shape \(c.shape)"
            XCTAssertEqual(values.count, c.count, label)
            XCTAssertEqual(fnv1a64(values), c.fnv1a64, "\(label): hash of all values")
            let bits = values.map(\.bitPattern)
            if let expected = c.bits {
                XCTAssertEqual(bits, expected, label)
            }
            if let head = c.head_bits, let tail = c.tail_bits {
                XCTAssertEqual(Array(bits.prefix(head.count)), head, "\(label): head")
                XCTAssertEqual(Array(bits.suffix(tail.count)), tail, "\(label): tail")
            }
            if let file = c.file {
                let expected = try readFloats("rng/\(file)")
                XCTAssertEqual(bits, expected.map(\.bitPattern), "\(label): \(file)")
                files += 1
            }
        }
        XCTAssertEqual(files, 1)
    }

    func testTorchMatchesTorchRandn() throws { try check(rng: "torch") }

    func testPhiloxMatchesReference() throws { try check(rng: "philox") }

    /// State carried between calls: torch's cached spare normal from the
    /// small-size path and the Mersenne Twister position; philox's offset.
    func testSuccessiveDraws() throws {
        XCTAssertEqual(Self.fixture.sequences.count, 4)
        for sequence in Self.fixture.sequences {
            var random = try source(sequence.rng, seed: sequence.seed)
            for (shape, expected) in zip(sequence.shapes, sequence.bits) {
                let values = random.normal(count: shape.reduce(1, *))
                XCTAssertEqual(values.map(\.bitPattern), expected, "\(sequence.rng) seed \(sequence.seed) \(shape)")
            }
        }
    }

    /// A1111's documented output of its Philox generator for seed 0, shape
    /// (3, 4) (the first values of torch.randn on CUDA for seed 0).
    func testPhiloxKnownValues() {
        var random = PhiloxRandomSource(seed: 0)
        let values = random.normal(count: 12)
        let expected: [Float] = [
            -0.92466259, -0.42534415, -2.6438457, 0.14518388,
            -0.12086647, -0.57972564, -0.62285122, -0.32838709,
            -1.07454231, -0.36314407, -1.67105067, 2.26550497,
        ]
        for (v, e) in zip(values, expected) { XCTAssertEqual(v, e, accuracy: 1e-6) }
    }

    func testZeroCountDrawsNothing() {
        var torch = TorchRandomSource(seed: 3)
        XCTAssertEqual(torch.normal(count: 0), [])
        var fresh = TorchRandomSource(seed: 3)
        XCTAssertEqual(torch.normal(count: 20), fresh.normal(count: 20))
    }
}
