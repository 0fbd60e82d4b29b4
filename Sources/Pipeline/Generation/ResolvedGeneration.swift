import ImageIO
import PromptLanguage
import Schedulers

/// A request checked against the model it will run on, with every default
/// filled in: what the service runs and what an image's parameters record.
/// `init(_:for:)` holds every validation rule of a generation, once.
public struct ResolvedGeneration: Sendable, Equatable {
    public let request: GenerationRequest
    public let width: Int
    public let height: Int
    public let scheduler: SchedulerKind
    /// The model's scheduler configuration with the request's overrides.
    public let schedulerConfiguration: SchedulerConfiguration
    public let latentShape: LatentShape
    /// Image-to-image's strength, defaulted.
    public let strength: Double
    /// The init image as given (`request.initImage` is the outpainting canvas when outpainting).
    public let originalInitImage: RGBImage?
    /// The request's LoRAs, then those its prompt's tags name.
    public let loras: [LoRASelection]
    /// The prompt the text encoder reads: without extra-network tags.
    public let encoderPrompt: String
    /// What was read but not applied (tags of other network kinds).
    public let warnings: [String]
    /// The tiles the VAE decodes in, or nil for a whole decode (`request.vaeTiling` at this size).
    public let decoderTiling: TiledVAEDecoding?
    /// SDXL's size conditioning, defaulted; nil for models without it.
    public let sizeConditioning: SizeConditioning?

    /// The guidance scale, defaulted to the model's.
    public let guidance: Float
    public var isGuided: Bool { guidance > 1 }
    /// The seed of image `index` of the request.
    public func seed(ofImage index: Int) -> UInt64 { request.seed &+ UInt64(index) }

    public init(_ original: GenerationRequest, for model: ModelBundle) throws(GenerationError) {
        let request = try Self.outpainted(original)
        let strength = original.strength
            ?? (original.outpaint.map { !$0.isEmpty } == true ? GenerationDefaults.outpaintStrength : GenerationDefaults.strength)
        func invalid(_ parameter: GenerationParameter, _ requirement: String) -> GenerationError {
            .invalid(parameter, requirement: requirement)
        }
        // The image's parameters text (a PNG text chunk) cannot hold a NUL.
        for (label, text) in [("prompt", request.prompt), ("negative prompt", request.negativePrompt)]
        where text.unicodeScalars.contains("\u{0}") {
            throw .badPrompt("\(label): contains a NUL character (U+0000), which an image's parameters text cannot hold")
        }
        let trainSteps = model.schedulerConfiguration.numTrainTimesteps
        guard request.steps >= 1 else { throw invalid(.steps, "must be at least 1 (got \(request.steps))") }
        guard request.steps <= trainSteps else {
            throw invalid(.steps, "must be at most the model's \(trainSteps) training timesteps (got \(request.steps))")
        }
        let guidance = request.guidance ?? model.defaultGuidance
        guard guidance.isFinite else { throw invalid(.guidance, "must be a number (got \(guidance))") }
        self.guidance = guidance
        guard (0...1).contains(request.guidanceRescale) else {
            throw invalid(.guidanceRescale, "must be between 0 and 1 (got \(request.guidanceRescale))")
        }
        guard (1...GenerationDefaults.maximumCount).contains(request.count) else {
            throw invalid(.count, "must be between 1 and \(GenerationDefaults.maximumCount) (got \(request.count))")
        }
        guard request.previewEvery >= 0 else {
            throw invalid(.previewEvery, "must be 0 (no previews) or more (got \(request.previewEvery))")
        }
        let maximumSkip = model.textEncoders.map(\.maximumClipSkip).min() ?? 0
        guard (0...maximumSkip).contains(request.clipSkip) else {
            throw invalid(.clipSkip, "must be between 0 and \(maximumSkip) (got \(request.clipSkip))")
        }

        try Self.checkImageInputs(request, strength: strength, model: model)
        self.strength = strength
        originalInitImage = original.initImage

        // Latents are 1/f of the image; diffusers also asks for multiples of 8.
        let f = model.vaeScaleFactor
        let multiple = Self.leastCommonMultiple(GenerationDefaults.sizeMultiple, f)
        // An init image's size, rounded down as diffusers' image processor rounds it (then resizes the image).
        // "Only masked" works on a region of it, at the model's size unless asked (A1111's sliders).
        let sizedImage = request.inpaintArea == .wholePicture ? request.initImage : nil
        let imageWidth = sizedImage.map { max(multiple, $0.width / multiple * multiple) }
        let imageHeight = sizedImage.map { max(multiple, $0.height / multiple * multiple) }
        let width = request.width ?? imageWidth ?? model.defaultImageSize
        let height = request.height ?? imageHeight ?? model.defaultImageSize
        guard width > 0, height > 0, width % multiple == 0, height % multiple == 0 else {
            let suggestion = "\(max(multiple, width / multiple * multiple))×\(max(multiple, height / multiple * multiple))"
            throw invalid(.size, "must be positive multiples of \(multiple) (got \(width)×\(height); try \(suggestion))")
        }
        guard width <= GenerationDefaults.maximumSide, height <= GenerationDefaults.maximumSide else {
            throw invalid(.size, "must be at most \(GenerationDefaults.maximumSide) (got \(width)×\(height))")
        }
        (encoderPrompt, loras, warnings) = try Self.loras(of: request)
        self.request = request
        self.width = width
        self.height = height
        scheduler = request.scheduler ?? model.defaultScheduler
        var configuration = model.schedulerConfiguration
        if let spacing = request.timestepSpacing {
            // LCM and TCD pick their timesteps from the distillation schedule: there is no spacing to choose.
            guard scheduler.choosesTimestepSpacing else {
                throw invalid(.timestepSpacing, "does not apply to the \(scheduler) sampler, whose timesteps follow its distillation schedule")
            }
            configuration.timestepSpacing = spacing
        }
        if let prediction = request.predictionType { configuration.predictionType = prediction }
        if let eta = request.eta {
            guard scheduler.defaultEta != nil else {
                let takers = SchedulerKind.allCases.filter { $0.defaultEta != nil }.map(\.rawValue)
                throw invalid(.eta, "does not apply to the \(scheduler) sampler (only to \(takers.joined(separator: " and ")))")
            }
            guard (0...1).contains(eta) else { throw invalid(.eta, "must be between 0 and 1 (got \(eta))") }
            configuration.eta = eta
        }
        schedulerConfiguration = configuration
        // The sampler's own limits (LCM's cap on the steps, "leading" spacing
        // past the training range, PNDM without ε or v) refuse the request
        // now, not after loading the model.
        do {
            _ = try scheduler.make(configuration: configuration, steps: request.steps)
        } catch {
            throw invalid(.scheduler, "\(scheduler) cannot run this request: \((error as? SchedulerError)?.reason ?? "\(error)")")
        }
        latentShape = LatentShape(channels: model.latentChannels, height: height / f, width: width / f)
        let asksSizes = request.originalSize != nil || request.cropTopLeft != nil || request.targetSize != nil
        if model.unet.addedEmbedding != nil {
            let output = PixelSize(width: width, height: height)
            let sizes = SizeConditioning(original: request.originalSize ?? output,
                                         crop: request.cropTopLeft ?? PixelPoint(x: 0, y: 0),
                                         target: request.targetSize ?? output)
            let limit = GenerationDefaults.maximumSide * 4
            for size in [sizes.original, sizes.target] where !(1...limit).contains(size.width) || !(1...limit).contains(size.height) {
                throw invalid(.sizeConditioning, "sizes must be between 1 and \(limit) pixels a side (got \(size))")
            }
            guard (0...limit).contains(sizes.crop.x), (0...limit).contains(sizes.crop.y) else {
                throw invalid(.sizeConditioning, "the crop corner must be between 0 and \(limit) (got \(sizes.crop))")
            }
            sizeConditioning = sizes
        } else {
            guard !asksSizes else {
                throw invalid(.sizeConditioning, "applies to SDXL-style models only; \(model.name) has no size conditioning")
            }
            sizeConditioning = nil
        }
        let tiles = TiledVAEDecoding(configuration: model.vaeConfiguration)
        decoderTiling = tiles.applies(request.vaeTiling, to: latentShape, scale: f) ? tiles : nil
    }

    /// An outpainting request as the inpainting request it is: the canvas as
    /// the init image, its border as the mask.
    private static func outpainted(_ request: GenerationRequest) throws(GenerationError) -> GenerationRequest {
        guard let margins = request.outpaint, !margins.isEmpty else { return request }
        let sides = [margins.left, margins.top, margins.right, margins.bottom]
        guard sides.allSatisfy({ (0...GenerationDefaults.maximumSide).contains($0) && $0 % GenerationDefaults.sizeMultiple == 0 }) else {
            throw .invalid(.outpaint, requirement: "must be multiples of \(GenerationDefaults.sizeMultiple), 0 or more "
                           + "(got \(sides.map(String.init).joined(separator: ",")))")
        }
        guard let image = request.initImage else { throw .invalid(.outpaint, requirement: "needs an init image to extend") }
        guard request.mask == nil else { throw .invalid(.outpaint, requirement: "makes its own mask; leave out the mask") }
        let width = image.width + margins.left + margins.right, height = image.height + margins.top + margins.bottom
        guard width <= GenerationDefaults.maximumSide, height <= GenerationDefaults.maximumSide,
              width * height <= GenerationDefaults.maximumCanvasPixels else {
            throw .invalid(.outpaint, requirement: "makes a \(width)×\(height) canvas, larger than this accepts "
                           + "(\(GenerationDefaults.maximumCanvasPixels) pixels, \(GenerationDefaults.maximumSide) a side)")
        }
        var inpainting = request
        (inpainting.initImage, inpainting.mask) = margins.canvas(for: image)
        inpainting.outpaint = nil
        return inpainting
    }

    /// The rules of image-to-image and inpainting: a strength in (0, 1] that
    /// runs at least one step, a mask only with an image and not all black,
    /// and an inpainting model (mask channels in its UNet) only for inpainting.
    private static func checkImageInputs(_ request: GenerationRequest, strength: Double,
                                         model: ModelBundle) throws(GenerationError) {
        if request.initImage != nil {
            guard strength > 0, strength <= 1 else {
                throw .invalid(.strength, requirement: "must be in (0, 1] (got \(strength))")
            }
            guard Int(Double(request.steps) * strength) >= 1 else {
                throw .invalid(.strength, requirement: "\(strength) of \(request.steps) steps runs no step; "
                               + "raise it or the steps")
            }
        }
        guard (0...GenerationDefaults.maximumMaskBlur).contains(request.maskBlur) else {
            throw .invalid(.maskBlur, requirement: "must be between 0 and \(GenerationDefaults.maximumMaskBlur) (got \(request.maskBlur))")
        }
        if let mask = request.mask {
            guard request.initImage != nil else { throw .invalid(.mask, requirement: "needs an init image to inpaint") }
            guard InpaintingMask(mask, inverted: request.invertMask).repaintsAnything else {
                throw .invalid(.mask, requirement: "is all black\(request.invertMask ? " once inverted" : ""): nothing to repaint")
            }
        }
        if case .onlyMasked(let padding) = request.inpaintArea {
            guard request.mask != nil else { throw .invalid(.inpaintArea, requirement: "\"only masked\" needs a mask to inpaint") }
            guard (0...GenerationDefaults.maximumSide).contains(padding) else {
                throw .invalid(.inpaintArea, requirement: "padding must be between 0 and \(GenerationDefaults.maximumSide) pixels (got \(padding))")
            }
        }
        if model.checkpoint.isInpainting && request.mask == nil {
            throw .invalid(.mask, requirement: "is required: \(model.name) is an inpainting model (its UNet takes a mask)")
        }
        let inputs = model.unet.configuration.inChannels
        guard inputs == model.latentChannels || model.checkpoint.isInpainting else {
            throw .invalid(.initImage, requirement: "cannot condition this UNet: it takes \(inputs) input channels, "
                           + "neither the VAE's \(model.latentChannels) nor an inpainting model's")
        }
    }

    /// The LoRAs a request applies and the prompt without its tags: what a
    /// caller needs before a model is loaded (to load it with them).
    public static func loras(of request: GenerationRequest) throws(GenerationError)
        -> (encoderPrompt: String, loras: [LoRASelection], warnings: [String]) {
        guard request.promptSyntax == .a1111 else { return (request.prompt, request.loras, []) }
        do {
            let tags = try LoRATags.extract(request.prompt)
            return (tags.text, request.loras + tags.loras,
                    tags.ignored.map { "\($0) is not applied: sdgen applies LoRA networks only" })
        } catch {
            throw .badPrompt(error.description)
        }
    }

    private static func leastCommonMultiple(_ a: Int, _ b: Int) -> Int {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return a / x * b
    }
}
