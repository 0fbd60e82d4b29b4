import ArgumentParser
import Foundation
import ImageIO
import Pipeline
import PromptLanguage
import Schedulers

extension SchedulerKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
extension RandomSourceKind: ExpressibleByArgument {}
extension ComputeDevice: ExpressibleByArgument {}
extension PromptSyntax: ExpressibleByArgument {}

/// `--inpaint-area`: A1111's "Whole picture" and "Only masked".
enum InpaintAreaChoice: String, ExpressibleByArgument, CaseIterable { case whole, masked }
extension Emphasis: ExpressibleByArgument {}
extension LoRASelection: ExpressibleByArgument {}
extension ImageFit: ExpressibleByArgument {}
extension OutpaintMargins: ExpressibleByArgument {}
extension PixelSize: ExpressibleByArgument {}
extension PixelPoint: ExpressibleByArgument {}
extension SchedulerConfiguration.TimestepSpacing: ExpressibleByArgument {}
extension VAETiling: ExpressibleByArgument {}
extension SchedulerConfiguration.PredictionType: ExpressibleByArgument {}

/// Text to image: options in, a `GenerationRequest` per prompt to the
/// generation service, its events printed and its images written.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate images from a text prompt (the default command).",
        discussion: """
            Schedulers: \(SchedulerKind.allCases.map(\.rawValue).joined(separator: ", ")). \
            Without -o, images go to \(OutputPlan.defaultFolder.lastPathComponent)/ as COUNTER-SEED-PROMPT.png, never overwriting.
            """)

    @Argument(help: "The prompt.")
    var prompt: String?

    @Option(name: .shortAndLong, help: "Output PNG (several images get -1, -2, … before the extension).")
    var output: String?

    @Option(help: "Run every line of a prompt file (empty lines and # comments skipped).")
    var prompts: String?

    @Option(help: "What the image should not contain.")
    var negativePrompt = ""

    // Numbers are read unconditionally (as the seed is): `--guidance -2` or `--steps -1` reach the
    // request's checks, which name the option and its range, instead of "missing value".
    @Option(parsing: .unconditional, help: "Sampling steps (default \(GenerationDefaults.steps)).")
    var steps: Int?

    @Option(parsing: .unconditional, help: "Classifier-free guidance scale; 1 or less turns guidance off (default: the model's, \(GenerationDefaults.guidance); SDXL \(GenerationDefaults.guidanceXL), as diffusers').")
    var guidance: Float?

    @Option(help: "How the sampler picks its timesteps: leading, linspace or trailing (default: the model's scheduler config).")
    var timestepSpacing: SchedulerConfiguration.TimestepSpacing?

    @Option(help: "What the model predicts: epsilon, v_prediction or sample (default: the model's scheduler config; SD 2.x 768 models are v_prediction).")
    var predictionType: SchedulerConfiguration.PredictionType?

    @Option(help: "SDXL: the original image size the model is told, WxH (default: the output size).")
    var originalSize: PixelSize?

    @Option(help: "SDXL: the crop's top-left corner the model is told, X,Y (default 0,0: uncropped).")
    var crop: PixelPoint?

    @Option(help: "SDXL: the target size the model is told, WxH (default: the output size).")
    var targetSize: PixelSize?

    @Option(parsing: .unconditional, help: "η of the samplers that take one, 0…1: DDIM's share of fresh noise (default 0), TCD's γ (default 0.3).")
    var eta: Double?

    @Option(parsing: .unconditional, help: "Rescale the guided prediction towards the conditional one's spread, φ in 0…1 (diffusers' guidance_rescale; 0.7 for zero-SNR v-models; default 0, off).")
    var guidanceRescale: Float?

    // Unconditional, so that A1111's -1 is read as the value, not as an option.
    @Option(parsing: .unconditional,
            help: "Seed, 0…2⁶⁴−1 (default, -1 or 'random': a fresh one; always printed and stored in the PNG).")
    var seed: SeedArgument?

    @Option(parsing: .unconditional, help: "Image width in pixels, a multiple of \(GenerationDefaults.sizeMultiple) (default: the model's, 512 for SD 1.x).")
    var width: Int?

    @Option(parsing: .unconditional, help: "Image height in pixels, a multiple of \(GenerationDefaults.sizeMultiple) (default: the model's).")
    var height: Int?

    @Option(parsing: .unconditional, help: "Images per prompt (seeds seed, seed+1, …; default \(GenerationDefaults.count)).")
    var count: Int?

    @Option(help: "The sampler (diffusers' scheduler of that name; default: the one the model's scheduler config names).")
    var scheduler: SchedulerKind?

    @Option(help: "Noise generator: torch (diffusers on the CPU) or philox (torch's CUDA generator, A1111's seeds).")
    var rng: RandomSourceKind = GenerationDefaults.rng

    @Option(help: "cpu or gpu.")
    var device: ComputeDevice = .cpu

    @Option(help: "A diffusers folder or a single-file .safetensors checkpoint (default: the one model in weights/); 'random' runs SD 1.5's architecture with random weights (noise images, real timings and memory), 'random:MODEL' another's (sd21, sd-turbo, sdxl, sdxl-turbo).")
    var weights: String?

    @Option(help: "For a single-file checkpoint: a diffusers folder whose configs (and tokenizer, scheduler) to use.")
    var config: String?

    @OptionGroup var backendOptions: BackendOptions

    @Option(parsing: .unconditional, help: "Text encoder layers to skip from the end (diffusers' clip_skip; A1111's 'Clip skip' minus 1).")
    var clipSkip = GenerationDefaults.clipSkip

    @Option(help: ArgumentHelp(
        "How prompts are read: a1111 (emphasis like (word:1.2), BREAK, any length in 75-token chunks) or diffusers (literal text cut at 77 tokens).",
        discussion: "Plain prompts of up to 75 tokens give the same image either way."))
    var promptSyntax: PromptSyntax = GenerationDefaults.promptSyntax

    @Option(help: "A folder of textual-inversion embeddings (.safetensors): a prompt word equal to a file's name becomes its vectors (with a1111 syntax).")
    var embeddingsDir = "weights/embeddings"

    @Option(name: .customLong("lora"), help: ArgumentHelp(
        "A LoRA/LoCon .safetensors merged into the model, at WEIGHT (default 1); repeatable. FILE may be a name under --lora-dir.",
        valueName: "FILE[:WEIGHT]"))
    var loras: [LoRASelection] = []

    @Option(help: "Where <lora:NAME:WEIGHT> prompt tags (with a1111 syntax) find NAME.safetensors, in any subfolder.")
    var loraDir = LoRALibrary.defaultFolder.relativePath

    @Flag(help: "Fail when a LoRA module matches no weight of the model (default: a warning naming them).")
    var strictLora = false

    @Option(help: "With a1111 syntax: original (weights, then each chunk's mean restored; A1111's default), no-norm (weights only) or none (brackets are plain text).")
    var emphasis: Emphasis = GenerationDefaults.emphasis

    @Option(help: ArgumentHelp("Image to image: start from this PNG or JPEG instead of noise (the output takes its size, multiples of 8).",
                               valueName: "image"))
    var initImage: String?

    @Option(parsing: .unconditional, help: "With --init-image: how much of it is repainted, in (0, 1]; int(steps × strength) steps run, as diffusers' strength and A1111's denoising strength (default \(GenerationDefaults.strength); \(GenerationDefaults.outpaintStrength) with --outpaint).")
    var strength: Double?

    @Option(help: ArgumentHelp("Inpainting (with --init-image): white repaints, black keeps; grey is cut at half, as diffusers reads masks. An inpainting checkpoint (9-channel UNet) is used as such.",
                               valueName: "image"))
    var mask: String?

    @Flag(help: "Repaint the mask's black part instead (A1111's 'Inpaint not masked').")
    var invertMask = false

    @Option(parsing: .unconditional, help: "Inpainting/outpainting: blur the mask by this many pixels (A1111's mask blur; default 0, diffusers' hard mask) and lay the result over the init image through it, so the seam fades.")
    var maskBlur = 0

    @Option(help: ArgumentHelp("Inpainting: work on the whole picture at the output size, or only the mask's region: cut out (padded, widened to the output's aspect), inpainted at the output size and pasted back into the init image, which keeps its size (A1111's 'Only masked'; default size then the model's).",
                               valueName: "whole|masked"))
    var inpaintArea: InpaintAreaChoice = .whole

    @Option(parsing: .unconditional, help: "With --inpaint-area masked: pixels of context around the mask (A1111's 'Only masked padding').")
    var maskedPadding: Int?

    @Option(help: ArgumentHelp("Outpainting: extend the init image by these pixels on each side (multiples of 8; one number for all four) and paint the new border.",
                               valueName: "L,T,R,B"))
    var outpaint: OutpaintMargins?

    @Option(help: "When --width/--height differ from the init image's size: stretch (diffusers' default), crop (scale to cover, cut the centre) or pad (scale to fit, extend the edges).")
    var resize: ImageFit = .stretch

    @Option(help: ArgumentHelp("Decode with the tiny autoencoder: 'taesd' (weights/taesd, from `sdgen download madebyollin/taesd`) or an AutoencoderTiny folder.",
                               discussion: "TAESD decodes a 512×512 image in a fraction of a second (the full VAE takes seconds on a CPU), with softer fine detail."))
    var vae: String?

    @Option(help: ArgumentHelp("Decode the VAE in overlapping tiles (diffusers' enable_tiling): auto (from 1024×1024, where a whole decode needs gigabytes), on, or off.",
                               discussion: "Tiles bound the decode's memory to one tile's whatever the size; the blend leaves seams of a level or two."))
    var vaeTiling: VAETiling = GenerationDefaults.vaeTiling

    @Option(parsing: .unconditional, help: "Every N steps, write the image so far (decoded with TAESD: --vae's, else weights/taesd) to OUTPUT.preview.png (0: never).")
    var previewEvery = 0

    @Flag(help: "Fail instead of replacing an existing output file.")
    var noOverwrite = false

    @Flag(help: "Print a machine-readable JSON summary on stdout.")
    var json = false

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    /// The request fields by their flags, for error messages.
    static func flag(for parameter: GenerationParameter) -> String {
        switch parameter {
        case .steps: "--steps"
        case .guidance: "--guidance"
        case .size: "--width and --height"
        case .clipSkip: "--clip-skip"
        case .count: "--count"
        case .strength: "--strength"
        case .initImage: "--init-image"
        case .mask: "--mask"
        case .outpaint: "--outpaint"
        case .maskBlur: "--mask-blur"
        case .inpaintArea: "--inpaint-area"
        case .guidanceRescale: "--guidance-rescale"
        case .timestepSpacing: "--timestep-spacing"
        case .eta: "--eta"
        case .sizeConditioning: "--original-size/--crop/--target-size"
        case .decoder: "--vae"
        case .previewEvery: "--preview-every"
        case .scheduler: "--scheduler"
        }
    }

    func validate() throws {
        guard prompt != nil || prompts != nil else { throw ValidationError("give a prompt, or --prompts FILE") }
        // Before the outputs are planned (a name and seed per image); the service checks it again.
        if let count, !(1...GenerationDefaults.maximumCount).contains(count) {
            throw ValidationError("--count must be between 1 and \(GenerationDefaults.maximumCount) (got \(count))")
        }
        guard prompt == nil || prompts == nil else { throw ValidationError("give a prompt or --prompts, not both") }
        guard initImage != nil || (mask == nil && strength == nil && !invertMask && resize == .stretch && outpaint == nil
                                  && maskBlur == 0 && inpaintArea == .whole) else {
            throw ValidationError("--mask, --strength, --invert-mask, --mask-blur, --inpaint-area, --outpaint and --resize need --init-image")
        }
        guard maskedPadding == nil || inpaintArea == .masked else {
            throw ValidationError("--masked-padding applies with --inpaint-area masked")
        }
        guard previewEvery >= 0 else { throw ValidationError("--preview-every must be 0 (no previews) or more") }
    }

    /// The tiny autoencoder's folder, where --vae or --preview-every ask for one.
    private func tinyAutoencoderFolder() throws -> URL? {
        guard let choice = vae ?? (previewEvery > 0 ? TinyAutoencoderFolder.downloaded : nil) else { return nil }
        return try TinyAutoencoderFolder.resolve(choice, flag: vae != nil ? "--vae" : "--preview-every")
    }

    /// `random` (SD 1.5) or `random:MODEL` (`sdgen bench --model`'s names): a known architecture with random weights.
    static func randomModel(_ weights: String?) throws -> BenchmarkModel? {
        guard let weights, weights == "random" || weights.hasPrefix("random:") else { return nil }
        let name = weights == "random" ? BenchmarkModel.sd15.rawValue : String(weights.dropFirst("random:".count))
        guard let model = BenchmarkModel(rawValue: name) else {
            throw ValidationError("--weights \(weights): random weights come in \(BenchmarkModel.allCases.map { "random:" + $0.rawValue }.joined(separator: ", "))")
        }
        return model
    }

    func run() throws {
        let texts = try prompt.map { [$0] } ?? PromptFile.prompts(at: prompts!)
        let baseSeed = (seed ?? .random).resolved()
        let images = try (initImage: initImage.map(Self.readImage), mask: mask.map(Self.readImage))
        let requests = texts.map { request(for: $0, seed: baseSeed, images: images) }
        // Fail on missing weights or an unusable destination before minutes
        // of work, not after (and before creating any folder).
        let source: ModelSource = try Self.randomModel(weights).map { .random($0) }
            ?? .path(try WeightsLocator.locate(explicit: weights, defaultFolder: URL(fileURLWithPath: "weights")))
        let outputs = requests.flatMap { request in
            (0..<request.count).map { (prompt: request.prompt, seed: request.seed &+ UInt64($0)) }
        }
        let destinations = try OutputPlan.destinations(for: outputs, explicit: output.map { URL(fileURLWithPath: $0) },
                                                       overwrite: !noOverwrite)

        let setup = Stopwatch()
        let backend = try backendOptions.settings.makeBackend(for: device)
        BackendSettings.advisories(for: backend).forEach(warn)
        let embeddings = TextualInversionLibrary(folder: URL(fileURLWithPath: embeddingsDir))
        for skipped in embeddings.skipped { warn("skipping an embedding: \(skipped)") }
        // Loaded with the first request's LoRAs, so a run with one set loads once.
        let firstLoRAs = try requests.first.map { try ResolvedGeneration.loras(of: $0).loras } ?? []
        let service = try GenerationService(loading: source, configurationFolder: config.map { URL(fileURLWithPath: $0) },
                                            backend: backend, embeddings: embeddings,
                                            loraLibrary: LoRALibrary(folder: URL(fileURLWithPath: loraDir)),
                                            loras: firstLoRAs, strictLoRA: strictLora)
        if let folder = try tinyAutoencoderFolder() {
            try service.attachTinyAutoencoder(folder: folder)
        }
        // Not held: a request with other LoRAs loads the model again, and the old weights should go.
        let modelName = service.model.name
        let applied = service.model.loras.map { "\($0.name) \($0.unetWeight)" }.joined(separator: ", ")
        say("Loaded \(modelName) (\(service.model.checkpoint.layout.rawValue))\(applied.isEmpty ? "" : " with LoRA \(applied)") "
            + "on \(backend.name) in \(String(format: "%.1f", setup.seconds)) s")
        // Every request is checked, and fits, before the first one runs.
        for request in requests { try service.admit(request) }

        var summaries: [ImageSummary] = []
        var done = 0
        let signals = SignalCancellation()
        // The preview of the image under way: a run that fails or is cancelled leaves none behind.
        var unfinishedPreview: URL?
        for request in requests {
            do {
                try service.generate(request, cancellation: signals.token) { event in
                    switch event {
                    case let .started(image, _, seed):
                        say("[\(done + image + 1)/\(outputs.count)] seed \(seed): \(request.prompt)")
                    case let .step(progress):
                        if !quiet && !json {
                            ProgressBar.show(done: progress.step, total: progress.steps, secondsPerStep: progress.seconds)
                        }
                    case let .preview(image, _, rgb):
                        let preview = destinations[done + image].deletingPathExtension().appendingPathExtension("preview.png")
                        unfinishedPreview = preview
                        try PNGFile.write(rgb, to: preview)
                    case .decoding:
                        break
                    case let .finished(image):
                        unfinishedPreview = nil
                        ProgressBar.finish()
                        for warning in image.warnings { warn(warning) }
                        let destination = destinations[done + image.index]
                        try image.writePNG(to: destination, overwrite: !noOverwrite)
                        let summary = ImageSummary(path: destination.path, prompt: request.prompt, seed: image.seed,
                                                   timings: image.timings)
                        summaries.append(summary)
                        say(summary.line())
                    }
                }
            } catch {
                ProgressBar.finish()
                if let unfinishedPreview { try? FileManager.default.removeItem(at: unfinishedPreview) }
                throw signals.failure(for: error) ?? error
            }
            done += request.count
        }

        let peak = ProcessMemory.peakResidentBytes
        let devicePeak = backend.deviceMemory?.peakBytes
        if json {
            let report = GenerateReport(device: backend.name, model: modelName, images: summaries,
                                        peakResidentBytes: peak, peakDeviceBytes: devicePeak)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            let gpu = devicePeak.map { ", GPU memory \(ProcessMemory.format($0))" } ?? ""
            say("Peak memory \(ProcessMemory.format(peak))\(gpu), device \(backend.name)")
        }
    }

    /// The options as a request; what is left unset takes the service's defaults.
    private func request(for text: String, seed: UInt64, images: (initImage: RGBImage?, mask: RGBImage?)) -> GenerationRequest {
        var request = GenerationRequest(prompt: text, seed: seed)
        request.initImage = images.initImage
        request.mask = images.mask
        request.invertMask = invertMask
        request.fit = resize
        request.maskBlur = maskBlur
        request.inpaintArea = inpaintArea == .masked
            ? .onlyMasked(padding: maskedPadding ?? GenerationDefaults.maskedPadding) : .wholePicture
        request.strength = strength
        request.outpaint = outpaint
        request.negativePrompt = negativePrompt
        if let steps { request.steps = steps }
        if let guidance { request.guidance = guidance }
        if let guidanceRescale { request.guidanceRescale = guidanceRescale }
        if let timestepSpacing { request.timestepSpacing = timestepSpacing }
        if let eta { request.eta = eta }
        (request.originalSize, request.cropTopLeft, request.targetSize) = (originalSize, crop, targetSize)
        if let predictionType { request.predictionType = predictionType }
        request.width = width
        request.height = height
        request.scheduler = scheduler
        request.rng = rng
        request.clipSkip = clipSkip
        request.promptSyntax = promptSyntax
        request.emphasis = emphasis
        request.loras = loras
        if let count { request.count = count }
        request.decoder = vae == nil ? .model : .tiny
        request.previewEvery = previewEvery
        request.vaeTiling = vaeTiling
        return request
    }

    /// An input image, read before any model loads (a bad file fails at once).
    private static func readImage(_ path: String) throws -> RGBImage {
        try ImageFile.read(at: URL(fileURLWithPath: path))
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
