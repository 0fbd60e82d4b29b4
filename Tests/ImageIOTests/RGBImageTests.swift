import ImageIO
import XCTest

final class RGBImageTests: XCTestCase {
    /// Reference bytes computed with diffusers' own path —
    /// `VaeImageProcessor().postprocess(x, output_type="pil")`, i.e. torch
    /// `(x / 2 + 0.5).clamp(0, 1)` in float32 then numpy
    /// `(v * 255).round().astype("uint8")` — with torch 2.15, numpy 2.4,
    /// diffusers' image_processor, on the float32 inputs given by bit pattern.
    /// The `k + 0.5` cases check numpy's round-half-to-even.
    let references: [(bits: UInt32, byte: UInt8, note: String)] = [
        (0xBF80_0000, 0, "-1"),
        (0x3F80_0000, 255, "1"),
        (0x0000_0000, 128, "0: 127.5 rounds to even 128"),
        (0xC000_0000, 0, "-2 clamps"),
        (0x4000_0000, 255, "2 clamps"),
        (998_277_249, 128, "1/255 → 128.0"),
        (3_145_760_897, 127, "-1/255 → 127.0"),
        (0x3F00_0000, 191, "0.5 → 191.25"),
        (0xBF00_0000, 64, "-0.5 → 63.75"),
        (1_065_287_422, 254, "0.99607837 → 254.5 rounds to even 254"),
        (3_193_493_718, 100, "-0.21176466 → 100.5 rounds to even 100"),
        (3_192_967_374, 102, "-0.20392153 → 101.5 rounds to even 102"),
        (1_058_181_778, 200, "0.57254899 → 200.5 rounds to even 200"),
        (1_058_313_363, 202, "0.58039206 → 201.5 rounds to even 202"),
        (3_212_771_071, 0, "-0.99607843 → 0.49999997"),
        (1_036_831_949, 140, "0.1 → 140.25"),
        (3_197_737_370, 89, "-0.3 → 89.25"),
        (1_060_320_051, 217, "0.7 → 216.75"),
    ]

    func testByteConversionMatchesDiffusers() {
        for reference in references {
            XCTAssertEqual(RGBImage.byte(fromVAEValue: Float(bitPattern: reference.bits)), reference.byte, reference.note)
        }
    }

    func testNonFiniteValuesDoNotTrap() {
        XCTAssertEqual(RGBImage.byte(fromVAEValue: .nan), 0)
        XCTAssertEqual(RGBImage.byte(fromVAEValue: .infinity), 255)
        XCTAssertEqual(RGBImage.byte(fromVAEValue: -.infinity), 0)
    }

    func testLayouts() throws {
        // 2x1 image: pixel 0 = (-1, 0, 1), pixel 1 = (1, -1, 0).
        let nhwc: [Float] = [-1, 0, 1, 1, -1, 0]
        let nchw: [Float] = [-1, 1, 0, -1, 1, 0]  // R plane, G plane, B plane
        let expected: [UInt8] = [0, 128, 255, 255, 0, 128]
        XCTAssertEqual(try RGBImage(vaeOutput: nhwc, width: 2, height: 1, layout: .nhwc).pixels, expected)
        XCTAssertEqual(try RGBImage(vaeOutput: nchw, width: 2, height: 1, layout: .nchw).pixels, expected)
    }

    func testPixelAccess() throws {
        let image = try RGBImage(width: 2, height: 2, pixels: Array(0..<12))
        XCTAssertTrue(image.pixel(x: 1, y: 1)! == (9, 10, 11))
        XCTAssertNil(image.pixel(x: 2, y: 0))
        XCTAssertNil(image.pixel(x: 0, y: -1))
    }

    func testInvalidSizesThrow() {
        XCTAssertThrowsError(try RGBImage(width: 2, height: 2, pixels: [1, 2, 3])) { error in
            XCTAssertEqual("\(error)", "invalid image: 2x2 RGB needs 12 bytes, got 3")
        }
        XCTAssertThrowsError(try RGBImage(width: 0, height: 4, pixels: []))
        XCTAssertThrowsError(try RGBImage(width: -1, height: -1, pixels: [1, 2, 3]))
        XCTAssertThrowsError(try RGBImage(vaeOutput: [0, 0, 0], width: 2, height: 1, layout: .nhwc))
        XCTAssertThrowsError(try RGBImage(width: Int.max / 2, height: Int.max / 2, pixels: []))
    }
}
