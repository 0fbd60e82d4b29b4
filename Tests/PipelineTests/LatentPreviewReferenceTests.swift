import Pipeline
import TestSupport
import XCTest

/// The server's progress preview against AUTOMATIC1111's "Approx cheap"
/// preview recomputed with torch and numpy (scripts/reference/fixtures_previews.py):
/// every byte within 1 of the webui's (its einsum sums in another order, and
/// bytes are truncated, so a last-bit difference can move one across an
/// integer), on latents wide enough that the clamp bites at both ends.
final class LatentPreviewReferenceTests: XCTestCase {
    func testCheapApproximationMatchesTheWebUI() throws {
        let fixture = try Fixture("previews/cheap_approximation.safetensors")
        let shape = LatentShape(channels: 4, height: try XCTUnwrap(fixture.int("height")), width: try XCTUnwrap(fixture.int("width")))
        let preview = try XCTUnwrap(LatentPreview.cheapApproximation(try fixture.floats("latents"), shape: shape))
        XCTAssertEqual([preview.width, preview.height], [shape.width, shape.height])
        let expected = try fixture.floats("rgb")
        let differences = zip(preview.pixels, expected).map { abs(Float($0) - $1) }
        XCTAssertEqual(differences.count, shape.height * shape.width * 3)
        XCTAssertLessThanOrEqual(differences.max() ?? .infinity, 1)
        XCTAssertGreaterThanOrEqual(Float(differences.filter { $0 == 0 }.count) / Float(differences.count), 0.99)
        XCTAssertNil(LatentPreview.cheapApproximation([Float](repeating: 0, count: 16 * 4), shape: .init(channels: 16, height: 2, width: 2)),
                     "only SD 1.x/2.x's four latent channels have coefficients")
    }
}
