import ArgumentParser
import Foundation
import ImageIO
import Models
import Pipeline
import Schedulers
import TensorCore
import Tokenizers

extension SchedulerKind: ExpressibleByArgument {}
extension RandomSourceKind: ExpressibleByArgument {}
extension ComputeDevice: ExpressibleByArgument {}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate images from a text prompt (the default command).",
        discussion: """
            Schedulers: \(SchedulerKind.allCases.map(\.rawValue).joined(separator: ", ")). \
            Without -o, images go to outputs/ as COUNTER-SEED-PROMPT.png, never overwriting.
            """)

    @Argument(help: "The prompt.")
    var prompt: String?

    @Option(name: .shortAndLong, help: "Output PNG (several images get -1, -2, … before the extension).")
    var output: String?

    @Option(help: "Run every line of a prompt file (empty lines and # comments skipped).")
    var prompts: String?

    @Option(help: "What the image should not contain.")
    var negativePrompt = ""

    @Option(help: "Sampling steps.")
    var steps = 50

    @Option(help: "Classifier-free guidance scale (1 turns guidance off).")
    var guidance: Float = 7.5

    @Option(help: "Seed (default: random; always printed and stored in the PNG).")
    var seed: UInt64?

    @Option(help: "Image width in pixels, a multiple of 8.")
    var width = 512

    @Option(help: "Image height in pixels, a multiple of 8.")
    var height = 512

    @Option(help: "Images per prompt (seeds seed, seed+1, …).")
    var count = 1

    @Option(help: "The sampler (diffusers' scheduler of that name).")
    var scheduler: SchedulerKind = .pndm

    @Option(help: "Noise generator: torch (diffusers on the CPU) or philox (torch's CUDA generator, A1111's seeds).")
    var rng: RandomSourceKind = .torch

    @Option(help: "cpu or gpu.")
    var device: ComputeDevice = .cpu


    @Option(help: "A diffusers folder or a single-file .safetensors checkpoint (default: the one model in weights/); 'random' runs SD 1.5's architecture with random weights (noise images, real timings).")
    var weights: String?

    @Option(help: "For a single-file checkpoint: a diffusers folder whose configs to use.")
    var config: String?

    @OptionGroup var backendOptions: BackendOptions

    @Option(help: "Text encoder layers to skip from the end (diffusers' clip_skip; A1111's 'Clip skip' minus 1).")
    var clipSkip = 0

    @Flag(help: "Fail instead of replacing an existing output file.")
    var noOverwrite = false

    @Flag(help: "Print a machine-readable JSON summary on stdout.")
    var json = false

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    func validate() throws {
        guard prompt != nil || prompts != nil else { throw ValidationError("give a prompt, or --prompts FILE") }
        guard prompt == nil || prompts == nil else { throw ValidationError("give a prompt or --prompts, not both") }
        guard steps > 0 else { throw ValidationError("--steps must be at least 1") }
        guard width > 0, height > 0, width % 8 == 0, height % 8 == 0 else {
            throw ValidationError("--width and --height must be positive multiples of 8 (got \(width)×\(height))")
        }
        guard count > 0 else { throw ValidationError("--count must be at least 1") }
        guard clipSkip >= 0 else { throw ValidationError("--clip-skip must not be negative") }
        guard guidance.isFinite else { throw ValidationError("--guidance must be a number") }
    }

    func run() throws {
        let promptList = try loadPrompts()
        let jobs = promptList.flatMap { text in (0..<count).map { (text, $0) } }
        let baseSeed = seed ?? UInt64.random(in: 0..<(1 << 32))
        // Fail on missing weights or an unusable destination before minutes
        // of work, not after (and before creating any folder).
        let modelURL = weights == "random"
            ? nil : try WeightsLocator.locate(explicit: weights, defaultFolder: URL(fileURLWithPath: "weights"))
        let destinations = try plannedDestinations(for: jobs, seed: baseSeed)

        let setup = Stopwatch()
        let backend = try backendOptions.backend(for: device)
        let checkpoint: StableDiffusionCheckpoint
        if let modelURL {
            checkpoint = try StableDiffusionCheckpoint(url: modelURL, backend: backend,
                                                       configurationFolder: config.map { URL(fileURLWithPath: $0) })
        } else {
            checkpoint = try .randomWeights(backend: backend)
        }
        let tokenizer = try checkpoint.tokenizerFolder.map { try CLIPTokenizer(contentsOf: $0) } ?? CLIPTokenizer.bundled()
        let pipeline = try TextToImagePipeline(checkpoint: checkpoint, tokenizer: tokenizer)
        say("Loaded \(checkpoint.name) (\(checkpoint.layout.rawValue)) on \(backend.name) in \(String(format: "%.1f", setup.seconds)) s")

        var summaries: [ImageSummary] = []
        for (index, job) in jobs.enumerated() {
            var request = GenerationRequest(prompt: job.0, seed: baseSeed &+ UInt64(job.1))
            request.negativePrompt = negativePrompt
            request.steps = steps
            request.guidance = guidance
            request.width = width
            request.height = height
            request.scheduler = scheduler
            request.rng = rng
            request.clipSkip = clipSkip
            try pipeline.validate(request)

            say("[\(index + 1)/\(jobs.count)] seed \(request.seed): \(request.prompt)")
            let result = try pipeline.generate(request) { done, total, seconds in
                if !quiet && !json { ProgressBar.show(done: done, total: total, secondsPerStep: seconds) }
                return true
            }
            ProgressBar.finish()
            for warning in result.warnings { warn(warning) }

            let image = try RGBImage(vaeOutput: result.vaeOutput, width: width, height: height, layout: .nhwc)
            let destination = destinations[index]
            let parameters = GenerationParameters(
                prompt: request.prompt, negativePrompt: request.negativePrompt, steps: request.steps,
                sampler: scheduler.a1111Name, cfgScale: Double(request.guidance), seed: request.seed,
                width: width, height: height, model: checkpoint.name,
                extras: extraParameters(request))
            try PNGFile.write(image, to: destination, textChunks: [(PNGFile.parametersKey, parameters.a1111Text)],
                              overwrite: !noOverwrite)
            let summary = ImageSummary(path: destination.path, prompt: request.prompt, seed: request.seed,
                                       timings: result.timings)
            summaries.append(summary)
            say(summary.line(device: backend.name))
        }

        let peak = ProcessMemory.peakResidentBytes
        if json {
            let report = GenerateReport(device: backend.name, model: checkpoint.name, images: summaries,
                                        peakResidentBytes: peak)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            say("Peak memory \(ProcessMemory.format(peak)), device \(backend.name)")
        }
    }

    private func extraParameters(_ request: GenerationRequest) -> [GenerationParameters.Field] {
        var extras = [GenerationParameters.Field(key: "RNG", value: rng == .torch ? "CPU" : "NV")]
        if clipSkip > 0 { extras.append(.init(key: "Clip skip", value: "\(clipSkip + 1)")) }
        // bf16 products give a slightly different image for the same seed; say so.
        if backendOptions.precision != .f32 { extras.append(.init(key: "Precision", value: backendOptions.precision.rawValue)) }
        extras.append(.init(key: "Version", value: "sdgen"))
        return extras
    }

    private func loadPrompts() throws -> [String] {
        if let prompt { return [prompt] }
        let path = prompts!
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandFailure("cannot read the prompt file \(path)")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !lines.isEmpty else { throw CommandFailure("the prompt file \(path) has no prompts") }
        return lines
    }

    /// Every image's path, checked writable up front.
    private func plannedDestinations(for jobs: [(String, Int)], seed: UInt64) throws -> [URL] {
        let manager = FileManager.default
        if let output {
            let base = URL(fileURLWithPath: output)
            let folder = base.deletingLastPathComponent()
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CommandFailure("cannot write \(base.path): the folder \(folder.path) does not exist")
            }
            guard manager.isWritableFile(atPath: folder.path) else {
                throw CommandFailure("cannot write \(base.path): the folder \(folder.path) is not writable")
            }
            let urls = jobs.indices.map { OutputNaming.numbered(base, index: $0, of: jobs.count) }
            if noOverwrite, let existing = urls.first(where: { manager.fileExists(atPath: $0.path) }) {
                throw CommandFailure("\(existing.path) exists (--no-overwrite)")
            }
            return urls
        }
        let folder = URL(fileURLWithPath: "outputs")
        do {
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("cannot create the output folder \(folder.path)")
        }
        guard manager.isWritableFile(atPath: folder.path) else {
            throw CommandFailure("the output folder \(folder.path) is not writable")
        }
        let first = OutputNaming.nextCounter(in: folder)
        return jobs.enumerated().map { index, job in
            folder.appendingPathComponent(OutputNaming.name(counter: first + index, seed: seed &+ UInt64(job.1),
                                                            prompt: job.0))
        }
    }

    private func say(_ text: String) {
        guard !quiet else { return }
        if json {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        } else {
            print(text)
        }
    }

    private func warn(_ text: String) {
        FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
    }
}

/// One generated image in the summary and in --json.
struct ImageSummary: Codable {
    let path: String
    let prompt: String
    let seed: UInt64
    let timings: GenerationTimings

    func line(device: String) -> String {
        String(format: "Wrote %@ — tokenize %.1f ms, text encoder %.0f ms, UNet %.2f s/it (min %.2f), VAE decode %.1f s, total %.1f s",
               path, timings.tokenizeMilliseconds, timings.textEncoderMilliseconds, timings.unetMeanSeconds,
               timings.unetMinimumSeconds, timings.vaeDecodeSeconds, timings.totalSeconds)
    }
}

struct GenerateReport: Codable {
    let device: String
    let model: String
    let images: [ImageSummary]
    let peakResidentBytes: Int?
}

extension SchedulerKind {
    /// The sampler names A1111 writes, so its tools read our PNGs.
    var a1111Name: String {
        switch self {
        case .pndm: "PLMS"
        case .ddim: "DDIM"
        case .euler: "Euler"
        case .eulerAncestral: "Euler a"
        case .lms: "LMS"
        case .heun: "Heun"
        case .dpmSolverMultistep: "DPM++ 2M"
        case .eulerKarras: "Euler Karras"
        case .lmsKarras: "LMS Karras"
        case .dpmSolverMultistepKarras: "DPM++ 2M Karras"
        }
    }
}
