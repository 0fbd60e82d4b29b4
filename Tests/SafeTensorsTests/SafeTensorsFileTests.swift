import Foundation
import SafeTensors
import TensorCore
import TestSupport
import XCTest

final class SafeTensorsFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sdgen-safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func file(_ name: String, _ data: Data) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    /// A file with a hand-written header: the length prefix, then the JSON.
    func rawFile(header: String, data: Data = Data(), name: String = "raw.safetensors") throws -> URL {
        var bytes = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(Data(header.utf8))
        bytes.append(data)
        return try file(name, bytes)
    }

    func assertRejected(_ url: URL, mentioning fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(url: url), file: file, line: line) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains(url.path), "message does not name the file: \(message)", file: file, line: line)
            XCTAssertTrue(message.contains(fragment), "expected '\(fragment)' in: \(message)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "message is not one line: \(message)", file: file, line: line)
        }
    }

    // MARK: Reading

    func testRoundTripOfEveryFloatDType() throws {
        let values: [Float] = [1, -2.5, 0.125, 3]
        let half = values.map { Float16($0) }
        let bf16 = values.map { UInt16($0.bitPattern >> 16) }
        let ids: [Int64] = [0, 1, 2, 76]
        let data = try SafeTensorsWriter.encode([
            .init(name: "f32", shape: [2, 2], floats: values),
            .init(name: "f16", dtype: .f16, shape: [4], bytes: half.withUnsafeBytes { Data($0) }),
            .init(name: "bf16", dtype: .bf16, shape: [4], bytes: bf16.withUnsafeBytes { Data($0) }),
            .init(name: "position_ids", dtype: .i64, shape: [1, 4], bytes: ids.withUnsafeBytes { Data($0) }),
        ], metadata: ["format": "pt"])
        let st = try SafeTensorsFile(url: try file("ok.safetensors", data))

        XCTAssertEqual(st.metadata["format"], "pt")
        XCTAssertEqual(Set(st.names), ["f32", "f16", "bf16", "position_ids"])
        XCTAssertEqual(st.info("position_ids")?.dtype, .i64)
        XCTAssertEqual(try st.integers("position_ids"), ids)

        let backend = TestBackends.cpu
        for name in ["f32", "f16", "bf16"] {
            XCTAssertEqual(try st.floats(name), values, name)
            let tensor = try st.tensor(name, on: backend, as: .f32)
            XCTAssertEqual(tensor.dtype, .f32)
            XCTAssertEqual(tensor.toArray(), values, name)
        }
        XCTAssertEqual(try st.tensor("f16", on: backend).dtype, .f16, "kept as stored unless asked")
    }

    func testNonFloatTensorIsListedButNotLoadable() throws {
        let ids: [Int64] = [5, 6]
        let st = try SafeTensorsFile(url: try file("ids.safetensors", try SafeTensorsWriter.encode([
            .init(name: "ids", dtype: .i64, shape: [2], bytes: ids.withUnsafeBytes { Data($0) }),
        ])))
        XCTAssertThrowsError(try st.tensor("ids", on: TestBackends.cpu)) { error in
            XCTAssertTrue(String(describing: error).contains("not a float type"))
        }
        XCTAssertThrowsError(try st.floats("missing")) { error in
            XCTAssertTrue(String(describing: error).contains("no tensor named 'missing'"))
        }
    }

    func testZeroCopyTensorOutlivesTheFileObject() throws {
        let values = (0..<64).map { Float($0) }
        let url = try file("alias.safetensors", try SafeTensorsWriter.encode([.init(name: "w", shape: [64], floats: values)]))
        var tensor: Tensor?
        do { tensor = try SafeTensorsFile(url: url).tensor("w", on: TestBackends.cpu) }
        XCTAssertEqual(tensor?.toArray(), values)
    }

    // MARK: Malformed files

    func testEmptyFile() throws {
        assertRejected(try file("empty.safetensors", Data()), mentioning: "empty file")
    }

    func testDirectory() throws {
        assertRejected(directory, mentioning: "not a regular file")
    }

    func testMissingFile() throws {
        assertRejected(directory.appendingPathComponent("nope.safetensors"), mentioning: "no such file")
    }

    func testShorterThanLengthPrefix() throws {
        assertRejected(try file("short.safetensors", Data([1, 2, 3])), mentioning: "truncated")
    }

    func testHeaderLongerThanFile() throws {
        var bytes = Data()
        var length = UInt64(1000).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(Data("{}".utf8))
        assertRejected(try file("header.safetensors", bytes), mentioning: "truncated")
    }

    func testImplausibleHeaderLength() throws {
        // The first bytes of a PNG read as an enormous length.
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0])
        assertRejected(try file("image.png", png), mentioning: "not plausible")
    }

    func testInvalidJSON() throws {
        assertRejected(try rawFile(header: "{\"a\": [1, 2"), mentioning: "not valid JSON")
    }

    func testHeaderNotAnObject() throws {
        assertRejected(try rawFile(header: "[1, 2, 3]"), mentioning: "not a JSON object")
    }

    func testUnknownDType() throws {
        let header = #"{"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,2]}}"#
        assertRejected(try rawFile(header: header, data: Data(count: 2)), mentioning: "unknown dtype 'Q7'")
    }

    func testTruncatedData() throws {
        let header = #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        assertRejected(try rawFile(header: header, data: Data(count: 10)), mentioning: "outside")
    }

    func testLyingHeaderSizeMismatch() throws {
        let header = #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}"#
        assertRejected(try rawFile(header: header, data: Data(count: 16)), mentioning: "needs 24")
    }

    func testOverlappingTensors() throws {
        let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#
        assertRejected(try rawFile(header: header, data: Data(count: 24)), mentioning: "overlap")
    }

    func testNegativeAndFractionalShapes() throws {
        let negative = #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#
        assertRejected(try rawFile(header: negative, name: "neg.safetensors"), mentioning: "malformed shape")
        let fractional = #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#
        assertRejected(try rawFile(header: fractional, data: Data(count: 4), name: "frac.safetensors"),
                       mentioning: "malformed shape")
    }

    func testBadOffsets() throws {
        let reversed = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#
        assertRejected(try rawFile(header: reversed, data: Data(count: 4), name: "rev.safetensors"), mentioning: "outside")
        let missing = #"{"w":{"dtype":"F32","shape":[1]}}"#
        assertRejected(try rawFile(header: missing, data: Data(count: 4), name: "miss.safetensors"),
                       mentioning: "malformed data_offsets")
    }

    func testMetadataMustBeStrings() throws {
        assertRejected(try rawFile(header: #"{"__metadata__":{"n":3}}"#), mentioning: "not a string")
    }
}
