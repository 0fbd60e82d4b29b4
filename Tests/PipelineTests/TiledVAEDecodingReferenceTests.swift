import Foundation
import ImageIO
import Models
import Pipeline
import TensorCore
import TestSupport
import XCTest

/// The tiled VAE decode against diffusers' `AutoencoderKL.tiled_decode`
/// (`enable_tiling`) on the tiny VAE with 32-pixel tiles
/// (scripts/reference/fixtures_vae_tiling.py): several tiles each way,
/// ragged edges, an edge tile one latent wide, an axis that fits one tile
/// yet gets two, and a single tile (no tiling at all). Within 1e-5 on the
/// [-1, 1] output, on every backend; the untiled decode of the same latents
/// must differ from the tiled one, so the comparison tells them apart.
final class TiledVAEDecodingReferenceTests: XCTestCase {
    static func cases() throws -> [String] {
        let data = try Data(contentsOf: FixturePaths.url("vae_tiling/cases.json"))
        return try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: [String]])?["cases"])
    }

    /// NCHW → NHWC, batch 1.
    func nhwc(_ values: [Float], channels: Int, height: Int, width: Int) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        for c in 0..<channels { for p in 0..<(height * width) { out[p * channels + c] = values[c * height * width + p] } }
        return out
    }

    func testTiledDecodeMatchesDiffusers() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend)
            let decoder = LatentDecoder(vae: service.model.vaeDecoder, configuration: service.model.vaeConfiguration)
            for name in try Self.cases() {
                let fixture = try Fixture("vae_tiling/\(name).safetensors")
                let tiling = TiledVAEDecoding(tileSample: try XCTUnwrap(fixture.int("tile_sample_min_size")),
                                              tileLatent: try XCTUnwrap(fixture.int("tile_latent_min_size")),
                                              overlapFactor: Double(try XCTUnwrap(fixture.float("tile_overlap_factor"))))
                let shape = LatentShape(channels: 4, height: try XCTUnwrap(fixture.int("height")), width: try XCTUnwrap(fixture.int("width")))
                let latents = try fixture.floats("latents")
                let (h, w) = (shape.height * 2, shape.width * 2)
                let tiled = decoder.decode(latents, shape: shape, on: backend, tiling: tiling)
                assertClose(tiled, nhwc(try fixture.floats("tiled"), channels: 3, height: h, width: w), atol: 1e-5, rtol: 0,
                            "tiled \(name), on \(backend.name)")
                let whole = decoder.decode(latents, shape: shape, on: backend)
                let untiled = nhwc(try fixture.floats("untiled"), channels: 3, height: h, width: w)
                assertClose(whole, untiled, atol: 1e-5, rtol: 0, "untiled \(name), on \(backend.name)")
                let apart = zip(tiled, untiled).map { abs($0 - $1) }.max() ?? 0
                XCTAssertEqual(apart > 1e-3, tiling.spansTiles(shape), "\(name): tiled and whole decodes should differ iff tiled")
            }
        }
    }

    /// `--vae-tiling`: auto tiles only from a megapixel; on whenever the latents span tiles; off never.
    /// A tiled request's memory estimate holds one tile's decode, not the image's.
    func testRequestsChooseTilingAndAdmissionCountsOneTile() throws {
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        let tile = service.model.vaeConfiguration.sampleSize
        func resolved(_ mode: VAETiling, side: Int) throws -> ResolvedGeneration {
            var request = GenerationRequest(prompt: "a lighthouse", seed: 1)
            request.width = side
            request.height = side
            request.vaeTiling = mode
            return try service.resolve(request)
        }
        XCTAssertNil(try resolved(.auto, side: tile).decoderTiling)
        XCTAssertNil(try resolved(.auto, side: 1016).decoderTiling)
        XCTAssertNotNil(try resolved(.auto, side: 1024).decoderTiling)
        XCTAssertNotNil(try resolved(.on, side: tile + 8).decoderTiling)
        XCTAssertNil(try resolved(.on, side: tile).decoderTiling, "one tile: nothing to tile")
        XCTAssertNil(try resolved(.off, side: 4 * tile).decoderTiling)

        let whole = try MemoryAdmission.decodeActivationBytes(try resolved(.off, side: 8 * tile), model: service.model)
        let tiled = try MemoryAdmission.decodeActivationBytes(try resolved(.on, side: 8 * tile), model: service.model)
        let oneTile = try MemoryAdmission.decodeActivationBytes(try resolved(.off, side: tile), model: service.model)
        let image = 8 * tile * 8 * tile * 3 * 4
        XCTAssertLessThan(tiled, whole / 4, "a tiled decode's estimate should be about one tile's")
        XCTAssertGreaterThanOrEqual(tiled, oneTile + image, "one tile's working set and the image it assembles")

        // A sample size whose quarter truncates makes diffusers' cuts overshoot the image: the edge cuts them.
        let odd = TiledVAEDecoding(tileSample: 20, tileLatent: 10)
        let shape = LatentShape(channels: 4, height: 24, width: 31)
        let decoded = LatentDecoder(vae: service.model.vaeDecoder, configuration: service.model.vaeConfiguration)
            .decode([Float](repeating: 0.1, count: shape.count), shape: shape, on: TestBackends.cpu, tiling: odd)
        XCTAssertEqual(decoded.count, 48 * 62 * 3)

        // The whole pipeline decodes in tiles when asked, and the image changes accordingly.
        var request = GenerationRequest(prompt: "a lighthouse", seed: 3)
        request.steps = 2
        request.width = 2 * tile
        request.height = 2 * tile
        request.vaeTiling = .off
        let plain = try XCTUnwrap(try service.generate(request).first)
        request.vaeTiling = .on
        let tiledImage = try XCTUnwrap(try service.generate(request).first)
        XCTAssertNotEqual(plain.image.pixels, tiledImage.image.pixels)
        XCTAssertEqual(tiledImage.image.width, 2 * tile)
    }
}
