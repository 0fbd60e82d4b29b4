import Foundation
import ImageIO
import TestSupport
import XCTest

/// Resizing as diffusers resizes inputs (Pillow's Lanczos through
/// `VaeImageProcessor.resize`, modes default/crop/fill), byte for byte, on an
/// RGB image and a grey mask, shrinking and enlarging, both aspect directions.
final class ImageFitTests: XCTestCase {
    func testFitsMatchDiffusersByteForByte() throws {
        let fixture = try Fixture("img2img/resize.safetensors")
        let image = try PNGFile.read(at: FixturePaths.url("img2img/init_37x29.png")).image
        let mask = try PNGFile.read(at: FixturePaths.url("img2img/mask_37x29.png")).image
        XCTAssertEqual(image.pixels.map(Int64.init), try fixture.integers("image"), "the PNG reads as Pillow reads it")
        XCTAssertEqual(mask.grey.map(Int64.init), try fixture.integers("mask"), "grey as Pillow's convert(\"L\")")
        let sizes = try XCTUnwrap(fixture.string("sizes")).split(separator: ",").map {
            $0.split(separator: "x").map { Int($0)! }
        }
        for fit in ImageFit.allCases {
            for size in sizes {
                let (width, height) = (size[0], size[1])
                let name = "\(fit.rawValue)_\(width)x\(height)"
                let fitted = image.fitted(width: width, height: height, fit)
                XCTAssertEqual(fitted.pixels.map(Int64.init), try fixture.integers("image_\(name)"), "image \(name)")
                // diffusers pastes crop/fill results onto an RGB canvas: a grey mask comes back as R = G = B.
                var expected = try fixture.integers("mask_\(name)")
                if expected.count == 3 * width * height { expected = stride(from: 0, to: expected.count, by: 3).map { expected[$0] } }
                let greyFitted = fit.apply(mask.grey, width: mask.width, height: mask.height, channels: 1, to: width, height)
                XCTAssertEqual(greyFitted.map(Int64.init), expected, "mask \(name)")
            }
        }
    }
}
