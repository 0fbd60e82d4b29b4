import Foundation
import ImageIO
import Pipeline
import TestSupport
import XCTest

/// A1111's "Only masked" inpainting (scripts/reference/fixtures_inpaint_area.py):
/// the region A1111's own `masking.py` finds, the crop brought to the output
/// size, diffusers' inpainting of it, and the result pasted back through the
/// soft mask with Pillow's premultiplied alpha, as A1111's `apply_overlay`.
/// Cases: a region shifted back inside the image, one heightened to the
/// output's aspect without blur or padding, and one the image is too narrow
/// to widen (its crop filled to the output's aspect).
final class InpaintAreaReferenceTests: XCTestCase {
    static let folder = FixturePaths.url("inpaint_area")

    func testOnlyMaskedMatchesA1111() throws {
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        let image = try PNGFile.read(at: Self.folder.appendingPathComponent("init_72x48.png")).image
        for name in ["blob_edge", "stripe", "too_narrow"] {
            let fixture = try Fixture("inpaint_area/\(name).safetensors")
            let mask = try PNGFile.read(at: Self.folder.appendingPathComponent("\(name)_mask.png")).image
            let (blur, padding) = (try XCTUnwrap(fixture.int("mask_blur")), try XCTUnwrap(fixture.int("padding")))
            let (width, height) = (try XCTUnwrap(fixture.int("width")), try XCTUnwrap(fixture.int("height")))

            // The region, from the blurred mask A1111 finds it in.
            let soft = MaskBlur.blurred(mask.grey, width: mask.width, height: mask.height, radius: blur)
            let region = try XCTUnwrap(InpaintArea.region(of: soft, width: mask.width, height: mask.height,
                                                          padding: padding, outputWidth: width, outputHeight: height))
            let expected = try XCTUnwrap(fixture.string("region")).split(separator: ",").map { Int($0)! }
            XCTAssertEqual([region.x, region.y, region.width, region.height], expected, name)
            // The crop at the output size ("resize and fill", Lanczos and bicubic as Pillow's).
            let crop = image.cropped(to: region).fitted(width: width, height: height, .pad)
            let cropErrors = zip(crop.pixels, try fixture.integers("crop_image")).map { abs(Int64($0) - $1) }
            XCTAssertLessThanOrEqual(cropErrors.max() ?? 99, 1, "\(name): crop")

            var request = try GenerationRequest(fixture: fixture)
            request.strength = try XCTUnwrap(fixture.string("strength").flatMap(Double.init))
            request.initImage = image
            request.mask = mask
            request.maskBlur = blur
            request.inpaintArea = .onlyMasked(padding: padding)
            request.width = width
            request.height = height
            let result = try XCTUnwrap(try service.generate(request).first)
            XCTAssertEqual([result.image.width, result.image.height], [image.width, image.height], name)
            let errors = zip(result.image.pixels, try fixture.integers("final")).map { abs(Int64($0) - $1) }
            let withinOne = Double(errors.filter { $0 <= 1 }.count) / Double(errors.count)
            print("parity: only masked \(name) (region \(region)): max error \(errors.max() ?? 0) levels, "
                  + "\(errors.filter { $0 > 1 }.count) of \(errors.count) values off by more than 1")
            XCTAssertGreaterThanOrEqual(withinOne, 0.99, name)
            // Outside the region the init image comes back untouched.
            for y in 0..<image.height {
                for x in 0..<image.width where !(region.x..<(region.x + region.width)).contains(x)
                    || !(region.y..<(region.y + region.height)).contains(y) {
                    XCTAssert(result.image.pixel(x: x, y: y)! == image.pixel(x: x, y: y)!, "\(name) (\(x), \(y))")
                }
            }
            XCTAssertEqual(result.parameters.extra("Inpaint area"), "Only masked")
            XCTAssertEqual(result.parameters.extra("Masked area padding"), "\(padding)")
            XCTAssertEqual([result.parameters.width, result.parameters.height], [width, height])
        }
    }

    /// "Only masked" without a mask has nothing to cut out: one clear error, before any work.
    func testOnlyMaskedNeedsAMask() throws {
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        var request = GenerationRequest(prompt: "a fox", seed: 1)
        request.initImage = try PNGFile.read(at: Self.folder.appendingPathComponent("init_72x48.png")).image
        request.inpaintArea = .onlyMasked(padding: 8)
        XCTAssertThrowsError(try service.admit(request)) { error in
            XCTAssertEqual(error as? GenerationError, .invalid(.inpaintArea, requirement: "\"only masked\" needs a mask to inpaint"))
        }
    }
}
