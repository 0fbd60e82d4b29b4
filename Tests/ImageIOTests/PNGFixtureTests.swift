import Foundation
import ImageIO
import TestSupport
import XCTest

/// Reading PNGs that sdgen does not write itself (inputs for img2img):
/// every colour type comes back as 8-bit RGB (Tests/Fixtures/png/README.md).
final class PNGFixtureTests: XCTestCase {
    func testOtherFormatsReadAsRGB8() throws {
        for name in ["grey8", "grey16", "rgba8", "palette8", "rgb8_interlaced"] {
            let (image, texts) = try PNGFile.read(at: FixturePaths.url("png/\(name).png"))
            let expected = [UInt8](try Data(contentsOf: FixturePaths.url("png/\(name).rgb")))
            XCTAssertEqual(image.width, 11, name)
            XCTAssertEqual(image.height, 7, name)
            XCTAssertEqual(image.pixels, expected, name)
            XCTAssertEqual(texts, [:], name)
        }
    }
}
