import Foundation
@_spi(Testing) import Tokenizers
import XCTest

final class GzipTests: XCTestCase {
    static let merges = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/Tokenizers/Resources/clip-merges.txt.gz")

    func testBundledMergesInflate() throws {
        let text = try Gzip.decompress([UInt8](Data(contentsOf: Self.merges)), source: "merges")
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.first, "#version: 0.2")
        XCTAssertEqual(lines.count, 1 + 48894)
        XCTAssertEqual(lines[1], "i n")
        XCTAssertEqual(lines.last, "jeky ll</w>")
    }

    /// Damaged data (flipped bytes, cut short) must throw, never trap.
    func testDamagedDataThrows() throws {
        let good = [UInt8](try Data(contentsOf: Self.merges))
        var generator = SplitMix(seed: 7)
        var thrown = 0
        for trial in 0 ..< 200 {
            var bad = good
            if trial % 4 == 0 {
                bad.removeLast(Int(generator.next() % UInt64(bad.count - 1)) + 1)
            } else {
                for _ in 0 ..< 1 + trial % 5 {
                    let at = Int(generator.next() % UInt64(bad.count))
                    bad[at] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
                }
            }
            do {
                _ = try Gzip.decompress(bad, source: "damaged.gz")
            } catch let error as TokenizerError {
                thrown += 1
                XCTAssertTrue(error.description.hasPrefix("damaged.gz: not a valid gzip file ("), error.description)
            }
        }
        // A flip inside a stored name or padding could in principle go
        // unnoticed; everything else must be caught by the CRC or the decoder.
        XCTAssertGreaterThan(thrown, 190)
        XCTAssertThrowsError(try Gzip.decompress([], source: "empty.gz"))
        XCTAssertThrowsError(try Gzip.decompress(Array("plain text, not gzip".utf8), source: "plain.gz"))
    }
}

/// A tiny seeded generator, so the damage is the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
