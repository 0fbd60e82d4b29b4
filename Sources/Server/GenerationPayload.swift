import Foundation
import ImageIO
import Pipeline
import Schedulers

/// A `txt2img` or `img2img` body, read field by field with A1111's names,
/// types and defaults (`modules/api/models.py`), then turned into a
/// `GenerationRequest`. What sdgen cannot do (hires fix, face restoration,
/// scripts, variation seeds) is refused with a 422 naming the field, not
/// silently ignored; fields that change nothing here (save-grid flags) are accepted.
/// `eta`, as in A1111, reaches the samplers that take one (DDIM, TCD) and no others.
struct GenerationPayload: Sendable {
    enum Mode: String, Sendable { case textToImage = "txt2img", imageToImage = "img2img" }

    let mode: Mode
    let prompt: String
    let negativePrompt: String
    /// -1: a random seed.
    let seed: Int
    let scheduler: SchedulerKind?
    let batchSize: Int
    let iterations: Int
    let steps: Int
    let cfgScale: Double
    let width: Int?
    let height: Int?
    let overrides: [String: JSONValue]
    let sendImages: Bool
    let saveImages: Bool
    /// For the sampler named, when it takes an η.
    let eta: Double?
    // Image to image.
    let initImage: RGBImage?
    let mask: RGBImage?
    let strength: Double
    let maskBlur: Int
    let invertMask: Bool
    let inpaintArea: InpaintArea
    let fit: ImageFit
    /// The body as received, echoed as the answer's `parameters` (A1111 echoes its request model).
    let echo: [String: JSONValue]

    /// A1111's API defaults, where they differ from sdgen's own (`GenerationDefaults`).
    enum Defaults {
        static let cfgScale = 7.0
        static let maskBlur = 4
        /// Images per request at most (batch_size × n_iter), so one request cannot hold the queue for ever.
        static let maximumImages = 100
    }

    init(_ body: JSONValue, mode: Mode) throws(APIError) {
        let reader = try PayloadReader(body)
        self.mode = mode
        echo = reader.object
        prompt = try reader.string("prompt", default: "")
        negativePrompt = try reader.string("negative_prompt", default: "")
        seed = try reader.int("seed", default: -1, in: -1...Int(Int64.max))
        var sampler = try reader.string("sampler_name")
        if sampler == nil { sampler = try reader.string("sampler_index") }
        scheduler = try A1111Sampler.kind(sampler: sampler, schedule: reader.string("scheduler"))
        batchSize = try reader.int("batch_size", default: 1, in: 1...Defaults.maximumImages)
        iterations = try reader.int("n_iter", default: 1, in: 1...Defaults.maximumImages)
        guard batchSize * iterations <= Defaults.maximumImages else {
            throw .invalid("n_iter", "batch_size × n_iter must be at most \(Defaults.maximumImages) images (got \(batchSize * iterations))")
        }
        steps = try reader.int("steps", default: GenerationDefaults.steps, in: 1...10_000)
        cfgScale = try reader.double("cfg_scale", default: Defaults.cfgScale, in: 0...100)
        width = try reader.int("width", in: 1...GenerationDefaults.maximumSide)
        height = try reader.int("height", in: 1...GenerationDefaults.maximumSide)
        overrides = try reader.object("override_settings")
        sendImages = try reader.bool("send_images", default: true)
        saveImages = try reader.bool("save_images", default: false)
        let eta = try reader.double("eta", in: 0...10)
        self.eta = scheduler?.defaultEta == nil ? nil : eta

        try Self.refuseUnsupported(reader)

        if mode == .imageToImage {
            let images = try reader.strings("init_images")
            guard let first = images.first else { throw .invalid("init_images", "give one base64 image to start from") }
            guard images.count == 1 else { throw .invalid("init_images", "sdgen starts from one image per request (got \(images.count))") }
            initImage = try Base64Image.decode(first, field: "init_images")
            mask = try reader.string("mask").map { text throws(APIError) in try Base64Image.decode(text, field: "mask") }
            strength = try reader.double("denoising_strength", default: GenerationDefaults.strength, in: 0...1)
            let blurX = try reader.int("mask_blur_x", default: Defaults.maskBlur, in: 0...GenerationDefaults.maximumMaskBlur)
            maskBlur = try reader.int("mask_blur", in: 0...GenerationDefaults.maximumMaskBlur) ?? blurX
            invertMask = try reader.bool("inpainting_mask_invert", default: false)
            // A1111's API inpaints "Only masked" unless told otherwise, with no padding.
            let padding = try reader.int("inpaint_full_res_padding", default: 0, in: 0...GenerationDefaults.maximumSide)
            inpaintArea = try reader.bool("inpaint_full_res", default: true) ? .onlyMasked(padding: padding) : .wholePicture
            switch try reader.int("resize_mode", default: 0, in: 0...3) {
            case 0: fit = .stretch
            case 1: fit = .crop
            case 2: fit = .pad
            default: throw .invalid("resize_mode", "3 (latent upscale) is not available; use 0 (resize), 1 (crop) or 2 (fill)")
            }
        } else {
            initImage = nil
            mask = nil
            strength = GenerationDefaults.strength
            maskBlur = 0
            invertMask = false
            inpaintArea = .wholePicture
            fit = .stretch
        }
    }

    /// A1111 features sdgen does not have: asked for, they are an error, not a different image.
    private static func refuseUnsupported(_ reader: PayloadReader) throws(APIError) {
        for flag in ["enable_hr", "restore_faces", "tiling"] where try reader.bool(flag, default: false) {
            throw .invalid(flag, "is not available in sdgen")
        }
        if let strength = try reader.double("subseed_strength", in: 0...1), strength != 0 {
            throw .invalid("subseed_strength", "variation seeds are not available in sdgen")
        }
        for field in ["seed_resize_from_h", "seed_resize_from_w"] {
            if let size = try reader.int(field, in: -1...GenerationDefaults.maximumSide), size > 0 {
                throw .invalid(field, "is not available in sdgen")
            }
        }
        if let refiner = try reader.string("refiner_checkpoint"), !refiner.isEmpty {
            throw .invalid("refiner_checkpoint", "a refiner is not available in sdgen")
        }
        if let multiplier = try reader.double("initial_noise_multiplier", in: 0...100), multiplier != 1 {
            throw .invalid("initial_noise_multiplier", "is not available in sdgen (only 1)")
        }
        if let script = try reader.string("script_name"), !script.isEmpty {
            throw .invalid("script_name", "sdgen runs no scripts")
        }
        if !(try reader.object("alwayson_scripts")).isEmpty {
            throw .invalid("alwayson_scripts", "sdgen runs no scripts")
        }
        if !(try reader.strings("styles")).isEmpty {
            throw .invalid("styles", "sdgen has no saved styles; put the text in the prompt")
        }
    }

    var imageCount: Int { batchSize * iterations }

    /// The request these fields and `options` ask for; `randomSeed` stands in for seed -1.
    func request(options: ServerOptions, randomSeed: UInt64) -> GenerationRequest {
        var request = GenerationRequest(prompt: prompt, seed: seed < 0 ? randomSeed : UInt64(seed))
        request.negativePrompt = negativePrompt
        request.steps = steps
        request.guidance = Float(cfgScale)
        request.scheduler = scheduler
        request.eta = eta
        request.width = width
        request.height = height
        request.count = imageCount
        request.rng = options.noiseSource.randomSource
        request.noiseSeedDelta = options.etaNoiseSeedDelta
        request.clipSkip = options.clipStopAtLastLayers - 1
        if mode == .imageToImage {
            request.initImage = initImage
            request.mask = mask
            request.strength = strength
            request.maskBlur = mask == nil ? 0 : maskBlur
            request.invertMask = invertMask
            request.inpaintArea = mask == nil ? .wholePicture : inpaintArea
            request.fit = fit
        }
        return request
    }

    /// The JSON field a service error is about.
    static func field(for parameter: GenerationParameter) -> String {
        switch parameter {
        case .steps: "steps"
        case .guidance: "cfg_scale"
        case .guidanceRescale: "guidance_rescale"
        case .timestepSpacing: "timestep_spacing"
        case .eta: "eta"
        case .sizeConditioning: "width"
        case .size: "width"
        case .clipSkip: "CLIP_stop_at_last_layers"
        case .count: "n_iter"
        case .strength: "denoising_strength"
        case .initImage: "init_images"
        case .mask: "mask"
        case .outpaint: "outpaint"
        case .maskBlur: "mask_blur"
        case .inpaintArea: "inpaint_full_res"
        case .decoder: "decoder"
        case .previewEvery: "preview_every"
        case .scheduler: "sampler_name"
        }
    }
}
