import Foundation
import HubDownload
import XCTest

/// `sdgen download` as a user runs it, against the fake Hub.
final class DownloadCommandTests: DownloadTestCase {
    /// The sdgen built next to this test bundle (`swift test` builds it).
    var sdgen: URL {
        get throws {
            let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for candidate in [products, products.deletingLastPathComponent()] {
                let url = candidate.appendingPathComponent("sdgen")
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
            throw XCTSkip("no sdgen executable next to \(CommandLine.arguments[0])")
        }
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try sdgen
        process.arguments = arguments
        process.currentDirectoryURL = folder
        // Nothing from this machine's Hugging Face setup leaks in.
        var base = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HF_") && !$0.key.hasPrefix("HUGGINGFACE") }
        base["HF_HOME"] = folder.appendingPathComponent("hf-home").path
        process.environment = base.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting: a full pipe would block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func testDownloadCommandFillsWeightsAndPrintsASummary() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        let result = try run(["download", FakeHub.repository, "--endpoint", hub.endpoint.absoluteString])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("weights/tiny-sd: 12 files, "), result.stdout)
        XCTAssertTrue(result.stdout.contains("commit 0123456"), result.stdout)
        XCTAssertTrue(result.stderr.contains("  unet/diffusion_pytorch_model.fp16.safetensors  1.17 MB  downloaded"), result.stderr)
        XCTAssertFalse(result.stderr.contains("\u{1B}["), "no progress bar drawing when stderr is not a terminal")
        try assertDownloadedFolderMatchesFixtures()

        // HF_ENDPOINT works as well as --endpoint, and a second run only verifies.
        let again = try run(["download", FakeHub.repository], environment: ["HF_ENDPOINT": hub.endpoint.absoluteString])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("12 already present"), again.stdout)
    }

    /// The first run of a new user: download, then generate with no --weights (found in weights/).
    func testSdgenGeneratesFromTheDownloadedFolder() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        let none = try run(["a red fox", "--steps", "1", "-o", "first.png"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("run 'sdgen download'"), none.stderr)

        let download = try run(["download", FakeHub.repository, "--endpoint", hub.endpoint.absoluteString])
        XCTAssertEqual(download.status, 0, download.stderr)
        let generate = try run(["a red fox", "--width", "32", "--height", "32", "--steps", "2", "--seed", "7",
                                "-o", "fox.png", "--quiet"])
        XCTAssertEqual(generate.status, 0, generate.stderr)
        let png = try Data(contentsOf: folder.appendingPathComponent("fox.png"))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // IHDR: width and height, big-endian, at bytes 16 and 20.
        XCTAssertEqual(png[16..<24].reduce(into: [UInt8]()) { $0.append($1) }, [0, 0, 0, 32, 0, 0, 0, 32])
    }

    func testErrorsAreOneLineAndNonZero() throws {
        let hub = try FakeHub(requiredToken: "hf_secret")
        defer { hub.stop() }
        let gated = try run(["download", FakeHub.repository, "--endpoint", hub.endpoint.absoluteString, "--name", "x"])
        XCTAssertNotEqual(gated.status, 0)
        XCTAssertEqual(gated.stderr.split(separator: "\n").last.map(String.init),
                       "error: \(HubError.authenticationRequired(repository: FakeHub.repository))")

        let withToken = try run(["download", FakeHub.repository, "--endpoint", hub.endpoint.absoluteString],
                                environment: ["HF_TOKEN": "hf_secret"])
        XCTAssertEqual(withToken.status, 0, withToken.stderr)

        let closed = "http://127.0.0.1:\(try LoopbackHTTPServer.closedPort())"
        let unreachable = try run(["download", "--endpoint", closed])
        XCTAssertNotEqual(unreachable.status, 0)
        XCTAssertTrue(unreachable.stderr.hasSuffix("error: cannot reach \(closed) (connection refused): check the network, or set HF_ENDPOINT to a reachable mirror\n"),
                      unreachable.stderr)
        XCTAssertTrue(unreachable.stderr.contains("stable-diffusion-v1-5/stable-diffusion-v1-5 (main)"), "the default model")
    }
}
