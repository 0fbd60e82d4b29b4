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
