import Foundation
import ImageIO
import TestSupport
import XCTest

/// Mutated PNGs with A1111 parameters: each reads (pixels and text) or fails
/// with an error — never a trap — and whatever text comes out parses or is refused.
final class MutatedPNGTests: XCTestCase {
    func testMutatedPNGsReadOrThrow() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let parameters = GenerationParameters(prompt: "a (red:1.2) fox\nin snow", negativePrompt: "blurry", steps: 20,
                                              sampler: "Euler a", cfgScale: 7, seed: 42, width: 16, height: 8,
                                              model: "tiny", extras: [.init(key: "Clip skip", value: "2")])
        let image = try RGBImage(width: 16, height: 8, pixels: (0..<(16 * 8 * 3)).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let original = try PNGFile.encode(image, textChunks: [(PNGFile.parametersKey, parameters.a1111Text)])
        let url = directory.file("mutant.png")
        var (read, refused) = (0, 0)
        for bytes in Mutations(of: original, count: 1500, seed: 0x96, focus: 160) {
            try Data(bytes).write(to: url)
            do {
                let (decoded, text) = try PNGFile.read(at: url)
                XCTAssertEqual(decoded.pixels.count, decoded.width * decoded.height * 3)
                if let infotext = text[PNGFile.parametersKey] { _ = try? GenerationParameters(a1111Text: infotext) }
                read += 1
            } catch {
                refused += 1
            }
        }
        print("mutated PNGs: \(read) read, \(refused) refused with an error, 0 traps")
        XCTAssertGreaterThan(refused, 0)
        XCTAssertGreaterThan(read, 0)
    }
}

/// A header that claims a huge image is refused before any allocation.
final class OversizedPNGTests: XCTestCase {
    func testClaimedSizeOverTheLimitIsRefused() throws {
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in body {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            crc ^= 0xFFFF_FFFF
            func bigEndian(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
            return bigEndian(UInt32(data.count)) + body + bigEndian(crc)
        }
        let side: [UInt8] = [0, 0, 0x4E, 0x20]  // 20000
        let header = side + side + [8, 2, 0, 0, 0]  // 8-bit RGB
        let bytes = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header)
            + chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) + chunk("IEND", [])
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("huge.png")
        try Data(bytes).write(to: url)
        XCTAssertThrowsError(try PNGFile.read(at: url)) {
            XCTAssertTrue(String(describing: $0).contains("too large"), "\($0)")
        }
    }
}
