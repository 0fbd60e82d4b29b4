import Foundation
import Models
import SafeTensors
import TensorCore
import TestSupport
import XCTest

/// Files from strangers: thousands of mutated variants of a real checkpoint
/// (the tiny single file) must each load or fail with an error — never trap.
/// A trap ends the test run, which is this test failing.
final class MutatedCheckpointTests: XCTestCase {
    func testMutatedSafetensorsLoadOrThrow() throws {
        let original = Array(try Data(contentsOf: FixturePaths.url("pipeline_single_file/tiny_sd.safetensors")))
        let headerLength = Int(original[0]) | Int(original[1]) << 8 | Int(original[2]) << 16
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-mutated-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("mutant.safetensors")
        let configs = FixturePaths.url("pipeline")
        var (loaded, refused) = (0, 0)
        for (index, bytes) in Mutations(of: original, count: 1500, seed: 0x5AFE, focus: 8 + headerLength).enumerated() {
            try Data(index == 0 ? original : bytes).write(to: url)
            do {
                let file = try SafeTensorsFile(url: url)
                for name in file.names { _ = try? file.floats(name) }
                // The architecture read off the shapes (the tiny model's norm groups are not
                // SD 1.x's, so this ends in an error even unmutated), then the configs' with
                // every shape checked; the FLOP counter builds the models without computing.
                _ = try? StableDiffusionCheckpoint(url: url, backend: FLOPCounter())
                _ = try StableDiffusionCheckpoint(url: url, backend: FLOPCounter(), configurationFolder: configs)
                loaded += 1
            } catch {
                XCTAssertFalse(String(describing: error).isEmpty)
                refused += 1
            }
        }
        print("mutated safetensors: \(loaded) loaded, \(refused) refused with an error, 0 traps")
        XCTAssertEqual(loaded + refused, 1500)
        XCTAssertGreaterThan(loaded, 1, "the original and some harmless mutations load")
        XCTAssertGreaterThan(refused, 0)
    }

    /// The reproduction of a trap: a length prefix with its top bit set.
    func testHeaderLengthWithTopBitSet() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-topbit-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80] + Array(repeating: 0x20, count: 64)).write(to: url)
        XCTAssertThrowsError(try SafeTensorsFile(url: url)) {
            XCTAssertTrue(String(describing: $0).contains("not plausible"), "\($0)")
        }
    }
}
