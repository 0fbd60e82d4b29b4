import Foundation
import ImageIO
import Pipeline
import TensorCore
import TestSupport
import XCTest

/// The `sdgen` binary as users run it, on the tiny model: a real PNG with
/// round-tripping parameters, and one-line errors that leave no file behind.
final class GenerateCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    var tinyModel: String { FixturePaths.url("pipeline").path }

    func testWritesPNGWithRoundTrippingParameters() throws {
        let output = directory.appendingPathComponent("fox.png")
        let run = try SDGenProcess.run(["a red fox in the snow", "--weights", tinyModel, "--width", "32", "--height", "32",
                                        "--steps", "3", "--seed", "1234", "--guidance", "5", "--negative-prompt", "blurry",
                                        "--scheduler", "euler-a", "-o", output.path, "--quiet"], in: directory)
        XCTAssertEqual(run.status, 0, run.standardError)
        let (image, text) = try PNGFile.read(at: output)
        XCTAssertEqual(image.width, 32)
        XCTAssertEqual(image.height, 32)
        let parameters = try GenerationParameters(a1111Text: try XCTUnwrap(text[PNGFile.parametersKey]))
        XCTAssertEqual(parameters.prompt, "a red fox in the snow")
        XCTAssertEqual(parameters.negativePrompt, "blurry")
        XCTAssertEqual(parameters.steps, 3)
        XCTAssertEqual(parameters.seed, 1234)
        XCTAssertEqual(parameters.cfgScale, 5)
        XCTAssertEqual(parameters.sampler, "Euler a")
        XCTAssertEqual(parameters.width, 32)

        let info = try SDGenProcess.run(["info", output.path], in: directory)
        XCTAssertEqual(info.status, 0)
        XCTAssertTrue(info.standardOutput.contains("Seed: 1234"), info.standardOutput)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["fox.png"],
                       "no temporary files left")
    }

    /// A1111's -1 (and `random`) ask for a fresh seed, which the PNG records; other negatives are refused.
    func testSeedMinusOneDrawsAFreshSeed() throws {
        for (index, value) in ["-1", "random"].enumerated() {
            let output = directory.appendingPathComponent("fresh\(index).png")
            let run = try SDGenProcess.run(["a fox", "--weights", tinyModel, "--width", "16", "--height", "16",
                                            "--steps", "1", "--seed", value, "-o", output.path, "--quiet"], in: directory)
            XCTAssertEqual(run.status, 0, run.standardError)
            let (_, text) = try PNGFile.read(at: output)
            let parameters = try GenerationParameters(a1111Text: try XCTUnwrap(text[PNGFile.parametersKey]))
            XCTAssertLessThan(parameters.seed, 1 << 32, "--seed \(value)")
        }
        let refused = try SDGenProcess.run(["a fox", "--weights", tinyModel, "--seed", "-5", "--quiet"], in: directory)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.standardError.contains("'-5' is invalid for '--seed"), refused.standardError)
    }

    func testPromptFileAndDefaultOutputNames() throws {
        let prompts = directory.appendingPathComponent("prompts.txt")
        // Windows line ends read as line ends.
        try "# a comment\r\nfirst prompt\r\n\r\nsecond prompt\r\n".write(to: prompts, atomically: true, encoding: .utf8)
        let run = try SDGenProcess.run(["--prompts", prompts.path, "--weights", tinyModel, "--width", "16", "--height", "16",
                                        "--steps", "1", "--seed", "5", "--quiet"], in: directory)
        XCTAssertEqual(run.status, 0, run.standardError)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("outputs").path).sorted()
        XCTAssertEqual(names, ["00000-5-first-prompt.png", "00001-5-second-prompt.png"])
    }

    /// Each bad input: non-zero exit, exactly one `error:` line, no output file.
    func testBadInputsFailWithOneLineAndNoFile() throws {
        let corrupt = directory.appendingPathComponent("corrupt.safetensors")
        try Data([1, 2, 3, 4, 5, 6, 7, 8, 9]).write(to: corrupt)
        let output = directory.appendingPathComponent("out.png")
        let common = ["--width", "32", "--height", "32", "--steps", "2", "-o", output.path]
        let cases: [(String, [String], String)] = [
            ("missing weights", ["a", "--weights", directory.appendingPathComponent("nope").path] + common, "no such file"),
            ("corrupt weights", ["a", "--weights", corrupt.path] + common, "corrupt.safetensors"),
            ("width 500", ["a", "--weights", tinyModel, "--width", "500", "-o", output.path], "multiples of 8"),
            ("steps 0", ["a", "--weights", tinyModel, "--steps", "0", "-o", output.path], "--steps"),
            ("unknown scheduler", ["a", "--weights", tinyModel, "--scheduler", "magic"] + common, "magic"),
            ("unwritable output", ["a", "--weights", tinyModel, "--width", "32", "--height", "32", "--steps", "2",
                                   "-o", "/proc/sdgen-test/out.png"], "/proc/sdgen-test"),
            ("a file as the output's folder", ["a", "--weights", tinyModel, "--width", "32", "--height", "32",
                                               "--steps", "2", "-o", corrupt.appendingPathComponent("out.png").path],
             "is not a folder"),
            ("output where no file can be made", ["a", "--weights", tinyModel, "--width", "32", "--height", "32",
                                                  "--steps", "2", "-o", "/proc/sdgen-test.png"], "cannot create files in /proc"),
            ("unknown option", ["a", "--weights", tinyModel, "--colour", "red"], "--colour"),
            ("unknown convolution", ["a", "--weights", tinyModel, "--convolution", "fft"] + common, "fft"),
            ("unknown precision", ["a", "--weights", tinyModel, "--precision", "fp8"] + common, "fp8"),
            ("bf16 on the GPU", ["a", "--weights", tinyModel, "--device", "gpu", "--precision", "bf16"] + common,
             "--precision bf16"),
            ("f16 on the CPU", ["a", "--weights", tinyModel, "--device", "cpu", "--precision", "f16"] + common,
             "--precision f16 is a GPU option"),
            ("weight not a number", ["a (fox:1.2.3)", "--weights", tinyModel] + common, "not a number"),
            ("unknown emphasis", ["a", "--weights", tinyModel, "--emphasis", "loud"] + common, "loud"),
            ("no TAESD downloaded", ["a", "--weights", tinyModel, "--vae", "taesd"] + common, "sdgen download madebyollin/taesd"),
            ("TAESD of another scale", ["a", "--weights", tinyModel, "--vae", FixturePaths.url("taesd/taesd").path] + common,
             "×8"),
            ("negative preview interval", ["a", "--weights", tinyModel, "--preview-every=-1"] + common, "--preview-every"),
            // A negative number after its option is its value, checked as such (not "missing value").
            ("steps -1", ["a", "--weights", tinyModel, "--steps", "-1", "-o", output.path], "--steps must be at least 1"),
            ("clip skip -1", ["a", "--weights", tinyModel, "--clip-skip", "-1"] + common, "--clip-skip must be between"),
            ("guidance rescale -1", ["a", "--weights", tinyModel, "--guidance-rescale", "-1"] + common,
             "--guidance-rescale must be between"),
            // These trapped or ran out of memory before their checks (a black-box probe found them).
            ("count -1", ["a", "--weights", tinyModel, "--count=-1"] + common, "--count"),
            ("count past the limit", ["a", "--weights", tinyModel, "--count", "9223372036854775807"] + common, "--count"),
            ("outpaint margins that overflow", ["a", "--weights", tinyModel, "--init-image",
                                                FixturePaths.url("img2img/init_32x32.png").path,
                                                "--outpaint", "4611686018427387904"] + common, "--outpaint"),
            ("an outpainting canvas too large to build", ["a", "--weights", tinyModel, "--init-image",
                                                          FixturePaths.url("img2img/init_32x32.png").path,
                                                          "--outpaint", "50000"] + common, "--outpaint"),
            ("steps past leading spacing's range", ["a", "--weights", tinyModel, "--steps", "1000", "--scheduler", "ddim",
                                                    "-o", output.path], "at most 999 steps"),
            ("a JPEG name", ["a", "--weights", tinyModel, "-o", directory.appendingPathComponent("out.jpg").path],
             "give a .png name"),
        ]
        for (label, arguments, fragment) in cases {
            let run = try SDGenProcess.run(arguments, in: directory)
            XCTAssertNotEqual(run.status, 0, label)
            let lines = run.standardError.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(label): stderr is not one line: \(run.standardError)")
            XCTAssertTrue(run.standardError.hasPrefix("error: "), "\(label): \(run.standardError)")
            XCTAssertTrue(run.standardError.contains(fragment), "\(label): expected '\(fragment)' in \(run.standardError)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "\(label): left \(output.path)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != "corrupt.safetensors" }
        XCTAssertEqual(left, [], "files left behind")
    }

    /// `--vae` with an AutoencoderTiny folder decodes with it (the PNG says
    /// so, as A1111 names a VAE), and `--preview-every` leaves the last
    /// preview beside the image.
    func testTinyAutoencoderDecodesAndPreviews() throws {
        let output = directory.appendingPathComponent("tiny.png")
        let run = try SDGenProcess.run(["a fox", "--weights", tinyModel, "--width", "16", "--height", "16", "--steps", "4",
                                        "--vae", FixturePaths.url("taesd/taesd_x2").path, "--preview-every", "2",
                                        "-o", output.path], in: directory)
        XCTAssertEqual(run.status, 0, run.standardError)
        let preview = directory.appendingPathComponent("tiny.preview.png")
        XCTAssertEqual(try PNGFile.read(at: preview).image.width, 16)
        let info = try SDGenProcess.run(["info", output.path], in: directory)
        XCTAssertTrue(info.standardOutput.contains("VAE: taesd"), info.standardOutput)
    }

    func testBFloat16PrecisionWritesAnImage() throws {
        let output = directory.appendingPathComponent("bf16.png")
        let run = try SDGenProcess.run(["a fox", "--weights", tinyModel, "--width", "16", "--height", "16", "--steps", "2",
                                        "--precision", "bf16", "-o", output.path], in: directory)
        XCTAssertEqual(run.status, 0, run.standardError)
        XCTAssertTrue(run.standardOutput.contains("bf16"), "the backend line names the precision: \(run.standardOutput)")
        let info = try SDGenProcess.run(["info", output.path], in: directory)
        XCTAssertTrue(info.standardOutput.contains("Precision: bf16"), "the PNG records the precision: \(info.standardOutput)")
    }

    /// The CLI is a shell over the generation service: the PNG the service
    /// encodes in memory (what a server answers) is the file's bytes.
    func testServicePNGInMemoryEqualsTheCLIFile() throws {
        let output = directory.appendingPathComponent("same.png")
        let run = try SDGenProcess.run(["a lighthouse at dusk", "--weights", tinyModel, "--width", "24", "--height", "16",
                                        "--steps", "3", "--seed", "77", "--scheduler", "dpm++2m", "--threads", "2",
                                        "-o", output.path, "--quiet"], in: directory)
        XCTAssertEqual(run.status, 0, run.standardError)
        let service = try GenerationService(loading: .path(URL(fileURLWithPath: tinyModel)),
                                            backend: CPUBackend(threads: 2))
        var request = GenerationRequest(prompt: "a lighthouse at dusk", seed: 77)
        request.steps = 3
        request.width = 24
        request.height = 16
        request.scheduler = .dpmSolverMultistep
        let image = try XCTUnwrap(try service.generate(request).first)
        XCTAssertEqual(try image.pngData(), Array(try Data(contentsOf: output)))
    }

    /// A size that cannot fit is refused at once with both numbers, not killed by the kernel.
    func testRequestTooLargeForTheMachineIsRefused() throws {
        let output = directory.appendingPathComponent("huge.png")
        let run = try SDGenProcess.run(["a", "--weights", tinyModel, "--width", "65536", "--height", "65536",
                                        "--steps", "2", "-o", output.path], in: directory)
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.standardError.split(separator: "\n").count, 1, run.standardError)
        XCTAssertTrue(run.standardError.contains("of memory available"), run.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
    }

    /// A single file with `--config`: tokenizer and scheduler come from the
    /// config folder, as diffusers' from_single_file(config=) takes them
    /// (the bundled SD vocabulary would not fit the tiny model).
    func testSingleFileWithConfigFolder() throws {
        let output = directory.appendingPathComponent("single.png")
        let run = try SDGenProcess.run(["a cat", "--weights", FixturePaths.url("pipeline_single_file/tiny_sd.safetensors").path,
                                        "--config", tinyModel, "--steps", "2", "-o", output.path, "--quiet"], in: directory)
        XCTAssertEqual(run.status, 0, run.standardError)
        let (image, text) = try PNGFile.read(at: output)
        XCTAssertEqual(image.width, 16, "the model's default size")
        XCTAssertTrue(try XCTUnwrap(text[PNGFile.parametersKey]).contains("Sampler: PLMS"), "the config's scheduler")
    }

    /// `--lora FILE:W` and `<lora:NAME:W>` tags under `--lora-dir`: the image
    /// records the tags and A1111's `Lora hashes`; a LoRA that cannot be
    /// applied is one line, a non-zero status and no file.
    func testLoRAsFromFlagsAndTags() throws {
        let loras = FixturePaths.url("lora/files").path
        let output = directory.appendingPathComponent("lora.png")
        let run = try SDGenProcess.run(["a fox <lora:peft:0.5>", "--weights", tinyModel, "--width", "16", "--height", "16",
                                        "--steps", "2", "--lora", loras + "/kohya.safetensors:0.8", "--lora-dir", loras,
                                        "-o", output.path], in: directory)
        XCTAssertEqual(run.status, 0, run.standardError)
        XCTAssertTrue(run.standardOutput.contains("with LoRA kohya 0.8, peft 0.5"), run.standardOutput)
        let (_, text) = try PNGFile.read(at: output)
        let parameters = try GenerationParameters(a1111Text: try XCTUnwrap(text[PNGFile.parametersKey]))
        XCTAssertEqual(parameters.prompt, "a fox <lora:peft:0.5>")
        XCTAssertEqual(parameters.extra("Lora hashes"), "kohya: 0c4cf5bf5a85, peft: 30bfc408acc5")

        for (arguments, message) in [(["a fox <lora:nothere:1>"], "no LoRA 'nothere'"),
                                     (["a fox <lora:peft:0.5"], "has no closing '>'"),
                                     (["a fox <lora:peft:lots>"], "is not a number"),
                                     (["a fox", "--lora", tinyModel + "/unet/config.json"], "config.json")] {
            let bad = directory.appendingPathComponent("bad.png")
            let failed = try SDGenProcess.run(arguments + ["--weights", tinyModel, "--steps", "1", "--lora-dir", loras,
                                                           "-o", bad.path], in: directory)
            XCTAssertEqual(failed.status, 1, "\(arguments)")
            XCTAssertEqual(failed.standardError.split(separator: "\n").count, 1, failed.standardError)
            XCTAssertTrue(failed.standardError.contains(message), failed.standardError)
            XCTAssertFalse(FileManager.default.fileExists(atPath: bad.path))
        }
    }

    /// Image to image, inpainting and outpainting from the command line: the
    /// output takes the init image's size (plus the margins), the PNG records
    /// the strength; bad inputs are one line, a non-zero status and no file.
    func testImageToImageInpaintingAndOutpainting() throws {
        let images = FixturePaths.url("img2img")
        let jpeg = images.appendingPathComponent("init_40x24.jpg").path
        let mask = images.appendingPathComponent("mask_40x24.png").path
        let common = ["a fox", "--weights", tinyModel, "--steps", "4", "--quiet"]
        let cases: [([String], Int, Int, String)] = [
            (["--init-image", jpeg, "--strength", "0.6"], 40, 24, "Denoising strength: 0.6"),
            (["--init-image", jpeg, "--mask", mask], 40, 24, "Denoising strength: 0.75"),
            // "Only masked": generated at 16×16, pasted back into the 40×24 image.
            (["--init-image", jpeg, "--mask", mask, "--inpaint-area", "masked", "--width", "16", "--height", "16"], 40, 24,
             "Inpaint area: Only masked, Masked area padding: 32"),
            (["--init-image", jpeg, "--outpaint", "8,0,8,16"], 56, 40, "Denoising strength: 1.0"),
            (["--init-image", jpeg, "--width", "48", "--height", "32", "--resize", "crop"], 48, 32, "Size: 48x32"),
        ]
        for (arguments, width, height, field) in cases {
            let output = directory.appendingPathComponent("img2img.png")
            let run = try SDGenProcess.run(common + arguments + ["-o", output.path], in: directory)
            XCTAssertEqual(run.status, 0, "\(arguments): \(run.standardError)")
            let (image, text) = try PNGFile.read(at: output)
            XCTAssertEqual([image.width, image.height], [width, height], "\(arguments)")
            XCTAssertTrue(try XCTUnwrap(text[PNGFile.parametersKey]).contains(field), "\(arguments): \(text)")
        }

        let black = directory.appendingPathComponent("black.png")
        try PNGFile.write(try RGBImage(width: 40, height: 24, pixels: [UInt8](repeating: 0, count: 40 * 24 * 3)), to: black)
        let notImage = directory.appendingPathComponent("notes.jpg")
        try Data("not an image".utf8).write(to: notImage)
        let failures: [([String], String)] = [
            (["--mask", mask], "need --init-image"),
            (["--init-image", jpeg, "--strength", "0"], "--strength must be in (0, 1]"),
            (["--init-image", jpeg, "--strength", "0.1"], "runs no step"),
            (["--init-image", jpeg, "--mask", black.path], "--mask is all black"),
            (["--init-image", notImage.path], "is not a PNG or JPEG image"),
            (["--init-image", directory.appendingPathComponent("none.png").path], "none.png"),
            (["--init-image", jpeg, "--outpaint", "4"], "--outpaint must be multiples of 8"),
            (["--init-image", jpeg, "--outpaint", "8", "--mask", mask], "leave out the mask"),
            (["--init-image", jpeg, "--inpaint-area", "masked"], "--inpaint-area \"only masked\" needs a mask"),
            (["--init-image", jpeg, "--mask", mask, "--masked-padding", "8"], "--masked-padding applies with --inpaint-area masked"),
            (["--inpaint-area", "masked"], "need --init-image"),
        ]
        for (arguments, message) in failures {
            let output = directory.appendingPathComponent("bad.png")
            let run = try SDGenProcess.run(common + arguments + ["-o", output.path], in: directory)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            XCTAssertEqual(run.standardError.split(separator: "\n").count, 1, "\(arguments): \(run.standardError)")
            XCTAssertTrue(run.standardError.contains(message), "\(arguments): \(run.standardError)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "\(arguments)")
        }
    }

    /// `sdgen tokenize --chunks`: A1111's reading of a prompt, chunk by chunk with weights.
    func testTokenizeShowsChunksAndWeights() throws {
        let run = try SDGenProcess.run(["tokenize", "--chunks", "a (red:1.3) fox BREAK snow"], in: directory)
        XCTAssertEqual(run.status, 0, run.standardError)
        XCTAssertTrue(run.standardOutput.contains("chunk 1 (3 of 75 tokens): a</w> red</w>×1.3 fox</w>"), run.standardOutput)
        XCTAssertTrue(run.standardOutput.contains("chunk 2 (1 of 75 tokens): snow</w>"), run.standardOutput)
    }

    func testNoOverwriteKeepsTheExistingFile() throws {
        let output = directory.appendingPathComponent("keep.png")
        try Data("precious".utf8).write(to: output)
        let run = try SDGenProcess.run(["a", "--weights", tinyModel, "--width", "16", "--height", "16", "--steps", "1",
                                        "-o", output.path, "--no-overwrite"], in: directory)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), "precious")
    }
}

/// Runs the sdgen binary built next to this test bundle.
enum SDGenProcess {
    struct Result {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sdgen")
    }

    static func run(_ arguments: [String], in directory: URL) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a full pipe cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
                      standardError: String(decoding: errData, as: UTF8.self))
    }
}

/// The fuzz targets' committed corpora — seeds and every input a fuzzing
/// run once crashed on — replayed through the ordinary build of
/// `sdgen-fuzz`: each input is read or refused, none traps.
final class FuzzCorpusReplayTests: XCTestCase {
    func testEveryCorpusReplaysWithoutACrash() throws {
        // Tests/Fixtures → the repository root.
        let corpora = FixturePaths.root.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/Corpus")
        let targets = try FileManager.default.contentsOfDirectory(atPath: corpora.path).sorted()
        XCTAssertGreaterThanOrEqual(targets.count, 8)
        let binary = SDGenProcess.binary.deletingLastPathComponent().appendingPathComponent("sdgen-fuzz")
        for target in targets {
            let process = Process()
            process.executableURL = binary
            process.arguments = [target, corpora.appendingPathComponent(target).path]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "\(target): \(text)")
            XCTAssertTrue(text.contains("no crash"), "\(target): \(text)")
        }
    }
}

/// SIGINT or SIGTERM mid-generation: the run stops at the next step, says so
/// in one line, exits 128 + the signal and leaves no file, partial or temporary.
final class InterruptTests: XCTestCase {
    func testSignalsStopTheRunAndWriteNothing() throws {
        for (signal, status) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-signal-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let process = Process()
            process.executableURL = SDGenProcess.binary
            // Enough steps to be mid-run when the signal comes (a few seconds on the tiny model).
            process.arguments = ["a fox", "--weights", FixturePaths.url("pipeline").path, "--steps", "1000",
                                 "--width", "128", "--height", "128", "--scheduler", "euler", "-o",
                                 directory.appendingPathComponent("out.png").path, "--json"]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = Pipe()
            try process.run()
            // The second line on stderr ("[1/1] seed …") says generation has begun.
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("[1/1]") {
                let chunk = errors.fileHandleForReading.availableData
                XCTAssertFalse(chunk.isEmpty, "sdgen ended before generating: \(String(decoding: seen, as: UTF8.self))")
                if chunk.isEmpty { return }
                seen.append(chunk)
            }
            Thread.sleep(forTimeInterval: 0.5)
            kill(process.processIdentifier, signal)
            seen.append(errors.fileHandleForReading.readDataToEndOfFile())
            process.waitUntilExit()
            let text = String(decoding: seen, as: UTF8.self)
            XCTAssertEqual(process.terminationReason, .exit, "ended by its own exit, not killed: \(text)")
            XCTAssertEqual(process.terminationStatus, status, text)
            let errorLines = text.split(separator: "\n").filter { $0.hasPrefix("error:") }
            XCTAssertEqual(errorLines.count, 1, text)
            XCTAssertTrue(errorLines.first?.contains("interrupted by SIG") == true, text)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [], "nothing written")
        }
    }
}
