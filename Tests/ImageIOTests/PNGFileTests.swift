import Foundation
import ImageIO
import XCTest

final class PNGFileTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    /// A deterministic image with every byte value in every channel.
    func gradient(width: Int = 37, height: Int = 23) throws -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                pixels += [UInt8((x * 7 + y) & 0xFF), UInt8((y * 11 + x * 3) & 0xFF), UInt8((x * y) & 0xFF)]
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    func bytes(of url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }

    func testRoundTripPixelsAndText() throws {
        let image = try gradient()
        let url = directory.file("out.png")
        let parameters = "a cat, on a mat: best quality\nNegative prompt: blurry\nSteps: 50, Sampler: PNDM, CFG scale: 7.5, Seed: 42, Size: 37x23"
        try PNGFile.write(image, to: url, textChunks: [(PNGFile.parametersKey, parameters), ("Software", "sdgen")])

        let (read, texts) = try PNGFile.read(at: url)
        XCTAssertEqual(read, image)
        XCTAssertEqual(texts, ["parameters": parameters, "Software": "sdgen"])
        XCTAssertEqual(try PNGFile.textChunks(at: url), texts)
        XCTAssertEqual(try directory.contents(), ["out.png"], "no temporary file left behind")
    }

    /// The file checked without libpng: signature, CRCs, an 8-bit RGB IHDR,
    /// and the text as a plain tEXt chunk before the image data, where
    /// readers such as A1111's "PNG Info" look for it.
    func testFileStructure() throws {
        let url = directory.file("out.png")
        try PNGFile.write(try gradient(), to: url, textChunks: [("parameters", "a cat\nSteps: 1, Sampler: Euler, CFG scale: 7.0, Seed: 1, Size: 37x23")])
        let png = try PNGChunks(try bytes(of: url))
        let types = png.chunks.map(\.type)
        XCTAssertEqual(types.first, "IHDR")
        XCTAssertEqual(types.last, "IEND")
        let ihdr = png.chunks[0].data
        XCTAssertEqual(PNGChunks.bigEndian(ihdr, at: 0), 37)
        XCTAssertEqual(PNGChunks.bigEndian(ihdr, at: 4), 23)
        XCTAssertEqual(ihdr[8], 8, "bit depth")
        XCTAssertEqual(ihdr[9], 2, "colour type RGB")
        let text = try XCTUnwrap(png.chunks.first { $0.type == "tEXt" })
        XCTAssertEqual(text.data, Array("parameters\0a cat\nSteps: 1, Sampler: Euler, CFG scale: 7.0, Seed: 1, Size: 37x23".utf8))
        XCTAssertLessThan(types.firstIndex(of: "tEXt")!, types.firstIndex(of: "IDAT")!)
    }

    /// Text beyond Latin-1's reach goes into iTXt as UTF-8, and comes back.
    func testNonASCIITextUsesITXt() throws {
        let url = directory.file("unicode.png")
        let prompt = "café, 猫, emoji 🐈, “quotes”"
        try PNGFile.write(try gradient(width: 4, height: 4), to: url, textChunks: [("parameters", prompt)])
        XCTAssertEqual(try PNGFile.textChunks(at: url)["parameters"], prompt)
        let png = try PNGChunks(try bytes(of: url))
        XCTAssertTrue(png.chunks.contains { $0.type == "iTXt" })
        XCTAssertFalse(png.chunks.contains { $0.type == "tEXt" })
    }

    /// tEXt from other writers: Latin-1 as the standard says, and UTF-8
    /// bytes as some tools write them anyway; text after the image data too.
    func testForeignTextChunks() throws {
        let url = directory.file("foreign.png")
        try PNGFile.write(try gradient(width: 3, height: 2), to: url)
        var png = try PNGChunks(try bytes(of: url))
        let latin1 = PNGChunks.Chunk(type: "tEXt", data: Array("Comment\0".utf8) + [0x63, 0x61, 0x66, 0xE9])  // "café" in Latin-1
        let utf8 = PNGChunks.Chunk(type: "tEXt", data: Array("parameters\0caf\u{E9} 猫".utf8))
        png.chunks.insert(latin1, at: 1)
        png.chunks.insert(utf8, at: png.chunks.count - 1)  // after IDAT, before IEND
        try Data(png.bytes).write(to: url)
        XCTAssertEqual(try PNGFile.textChunks(at: url), ["Comment": "café", "parameters": "café 猫"])
    }

    func testLargeImageRoundTrip() throws {
        // Bigger than the shim's 64 KiB write buffer and libpng's IDAT size.
        var generator = SystemRandomNumberGenerator()
        let pixels = (0..<(512 * 512 * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let image = try RGBImage(width: 512, height: 512, pixels: pixels)
        let url = directory.file("large.png")
        try PNGFile.write(image, to: url)
        XCTAssertEqual(try PNGFile.read(at: url).image, image)
    }

    func testOverwriteReplacesTheFile() throws {
        let url = directory.file("out.png")
        try PNGFile.write(try gradient(width: 2, height: 2), to: url, textChunks: [("k", "first")])
        try PNGFile.write(try gradient(width: 3, height: 3), to: url, textChunks: [("k", "second")])
        let (image, texts) = try PNGFile.read(at: url)
        XCTAssertEqual(image.width, 3)
        XCTAssertEqual(texts["k"], "second")
        XCTAssertEqual(try directory.contents(), ["out.png"])
    }

    func testInvalidTextKeysAreRejectedBeforeWriting() throws {
        let url = directory.file("out.png")
        let image = try gradient(width: 2, height: 2)
        for key in ["", String(repeating: "k", count: 80), " lead", "trail ", "two  spaces", "ключ", "tab\tkey"] {
            XCTAssertThrowsError(try PNGFile.write(image, to: url, textChunks: [(key, "v")]), "key '\(key)'") { error in
                guard case ImageIOError.invalidTextChunk = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try PNGFile.write(image, to: url, textChunks: [("k", "nul\0inside")]))
        XCTAssertEqual(try directory.contents(), [], "nothing written, no temporary file left")
    }

    // MARK: - Reading errors

    func testNotAPNG() throws {
        let url = directory.file("text.png")
        try Data("hello, this is not an image".utf8).write(to: url)
        XCTAssertThrowsError(try PNGFile.textChunks(at: url)) { error in
            XCTAssertEqual(error as? ImageIOError, .notPNG(path: url.path))
            XCTAssertEqual("\(error)", "\(url.path) is not a PNG file")
        }
        try Data().write(to: url)
        XCTAssertThrowsError(try PNGFile.read(at: url)) { XCTAssertEqual($0 as? ImageIOError, .notPNG(path: url.path)) }
    }

    /// Cut anywhere — inside the signature, a header, the image data or
    /// before IEND — the file reads as truncated, never as something else.
    func testTruncatedFiles() throws {
        let url = directory.file("full.png")
        try PNGFile.write(try gradient(width: 64, height: 64), to: url, textChunks: [("parameters", "p")])
        let full = try bytes(of: url)
        let cut = directory.file("cut.png")
        for length in [1, 4, 7, 8, 12, 20, 33, 40, full.count / 2, full.count - 13, full.count - 1] {
            try Data(full.prefix(length)).write(to: cut)
            XCTAssertThrowsError(try PNGFile.textChunks(at: cut), "cut at \(length)") { error in
                XCTAssertEqual(error as? ImageIOError, .truncated(path: cut.path), "cut at \(length)")
            }
            XCTAssertThrowsError(try PNGFile.read(at: cut), "cut at \(length)")
        }
    }

    func testCorruptImageData() throws {
        let url = directory.file("bad.png")
        try PNGFile.write(try gradient(), to: url)
        var png = try PNGChunks(try bytes(of: url))
        let idat = try XCTUnwrap(png.chunks.firstIndex { $0.type == "IDAT" })
        png.chunks[idat].data[0] ^= 0xFF  // re-encoded with a valid CRC: the zlib stream itself is broken
        try Data(png.bytes).write(to: url)
        XCTAssertThrowsError(try PNGFile.read(at: url)) { error in
            guard case ImageIOError.corrupt(let path, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url.path)
            XCTAssertFalse(detail.isEmpty)
        }
    }

    func testMissingFileAndFolder() throws {
        let missing = directory.file("missing.png")
        XCTAssertThrowsError(try PNGFile.textChunks(at: missing)) { error in
            XCTAssertEqual(error as? ImageIOError, .fileNotFound(path: missing.path))
            XCTAssertEqual("\(error)", "\(missing.path) does not exist")
        }
        XCTAssertThrowsError(try PNGFile.textChunks(at: directory.url)) { error in
            guard case ImageIOError.systemError(_, "read", EISDIR) = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try PNGFile.textChunks(at: URL(fileURLWithPath: "/dev/zero"))) { error in
            XCTAssertEqual(error as? ImageIOError, .notPNG(path: "/dev/zero"))
        }
    }
}
