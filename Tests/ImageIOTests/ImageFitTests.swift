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

/// JPEG input decoded as Pillow decodes it (both through libjpeg-turbo's
/// defaults), and the errors of files that are no usable image.
final class InputImageTests: XCTestCase {
    func testJPEGsDecodeAsPillowDecodesThem() throws {
        let fixture = try Fixture("img2img/jpeg.safetensors")
        for (file, key) in [("init_40x24.jpg", "colour"), ("grey_40x24.jpg", "grey"), ("cmyk_40x24.jpg", "cmyk")] {
            let image = try ImageFile.read(at: FixturePaths.url("img2img/\(file)"))
            XCTAssertEqual(image.width, 40)
            XCTAssertEqual(image.height, 24)
            XCTAssertEqual(image.pixels.map(Int64.init), try fixture.integers(key), file)
        }
        XCTAssertEqual(try ImageFile.read(at: FixturePaths.url("img2img/init_40x24.png")),
                       try PNGFile.read(at: FixturePaths.url("img2img/init_40x24.png")).image)
    }

    func testFilesThatAreNoImage() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let jpeg = try Data(contentsOf: FixturePaths.url("img2img/init_40x24.jpg"))
        let cases: [(String, Data, String)] = [
            ("text.png", Data("hello".utf8), "is not a PNG or JPEG image"),
            ("empty.jpg", Data(), "is not a PNG or JPEG image"),
            ("cut.jpg", jpeg.prefix(jpeg.count / 2), "truncated"),
            ("header.jpg", jpeg.prefix(4), "truncated"),
            ("junk.jpg", Data([0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x03, 0x01]) + Data(repeating: 0x11, count: 64), "not a readable JPEG"),
        ]
        for (name, bytes, message) in cases {
            let url = folder.appendingPathComponent(name)
            try bytes.write(to: url)
            XCTAssertThrowsError(try ImageFile.read(at: url), name) {
                XCTAssertTrue(String(describing: $0).contains(message), "\(name): \($0)")
            }
        }
        XCTAssertThrowsError(try ImageFile.read(at: folder.appendingPathComponent("missing.png"))) {
            XCTAssertTrue(String(describing: $0).contains("missing.png"), "\($0)")
        }
        // Mutated JPEGs: each one decodes or is refused with an error, never a trap.
        var mutations = Mutations(of: Array(jpeg), count: 2000, seed: 7)
        var refused = 0, decoded = 0
        for _ in 0..<2000 {
            guard let bytes = mutations.next() else { break }
            let url = folder.appendingPathComponent("mutated.jpg")
            try Data(bytes).write(to: url)
            if (try? ImageFile.read(at: url)) != nil { decoded += 1 } else { refused += 1 }
        }
        print("mutated JPEGs: \(decoded) decoded, \(refused) refused with an error, 0 traps")
        XCTAssertGreaterThan(decoded + refused, 1000)
    }
}
