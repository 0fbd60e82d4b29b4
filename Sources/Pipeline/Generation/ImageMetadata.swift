import ImageIO
import TensorCore

/// The A1111 infotext of an image, from the resolved request and the
/// backend that actually ran it (so a bf16 image says so however it was asked for).
enum ImageMetadata {
    static func parameters(for generation: ResolvedGeneration, seed: UInt64, model: ModelBundle) -> GenerationParameters {
        let request = generation.request
        var extras = [GenerationParameters.Field(key: "RNG", value: request.rng == .torch ? "CPU" : "NV")]
        // A1111's img2img fields.
        if let image = generation.originalInitImage {
            extras.append(.init(key: "Denoising strength", value: "\(generation.strength)"))
            // The input's own size (the output's may differ: rounded, resized or outpainted).
            extras.append(.init(key: "Init image size", value: "\(image.width)x\(image.height)"))
        }
        if request.mask != nil, request.maskBlur > 0 {
            extras.append(.init(key: "Mask blur", value: "\(request.maskBlur)"))
        }
        if request.mask != nil, case .onlyMasked(let padding) = request.inpaintArea {
            extras.append(.init(key: "Inpaint area", value: "Only masked"))
            extras.append(.init(key: "Masked area padding", value: "\(padding)"))
        }
        if request.mask != nil, request.invertMask {
            extras.append(.init(key: "Mask mode", value: "Inpaint not masked"))
        }
        if request.guidanceRescale > 0 && generation.isGuided {
            extras.append(.init(key: "CFG Rescale phi", value: "\(request.guidanceRescale)"))
        }
        // Set only when the request overrode the model's scheduler config, so the image can be made again.
        if let spacing = request.timestepSpacing { extras.append(.init(key: "Timestep spacing", value: spacing.rawValue)) }
        if let prediction = request.predictionType { extras.append(.init(key: "Prediction type", value: prediction.rawValue)) }
        // SDXL's size conditioning, when the request set it (ComfyUI's names for them).
        if let size = request.originalSize { extras.append(.init(key: "Original size", value: size.description)) }
        if let crop = request.cropTopLeft { extras.append(.init(key: "Crop", value: crop.description)) }
        if let size = request.targetSize { extras.append(.init(key: "Target size", value: size.description)) }
        // A1111 writes DDIM's η as "Eta DDIM", other samplers' as "Eta".
        if let eta = request.eta {
            extras.append(.init(key: generation.scheduler == .ddim ? "Eta DDIM" : "Eta", value: "\(eta)"))
        }
        if request.noiseSeedDelta != 0 { extras.append(.init(key: "ENSD", value: "\(request.noiseSeedDelta)")) }
        if request.clipSkip > 0 { extras.append(.init(key: "Clip skip", value: "\(request.clipSkip + 1)")) }
        // A1111 names the VAE that decoded the image when it is not the model's.
        if request.decoder == .tiny { extras.append(.init(key: "VAE", value: "taesd")) }
        // As A1111: written only when not its default.
        if request.promptSyntax == .a1111, request.emphasis != GenerationDefaults.emphasis {
            extras.append(.init(key: "Emphasis", value: request.emphasis.a1111Name))
        }
        // As A1111's Lora extension: each applied LoRA's name and short hash.
        if !model.loras.isEmpty {
            extras.append(.init(key: "Lora hashes", value: model.loras.map { "\($0.name): \($0.shortHash)" }
                .joined(separator: ", ")))
        }
        // Lower-precision products give a slightly different image for the same seed; say so.
        let precision = model.backend.matmulPrecision
        if precision != .f32 { extras.append(.init(key: "Precision", value: precision.rawValue)) }
        extras.append(.init(key: "Version", value: "sdgen"))
        return GenerationParameters(
            prompt: request.prompt, negativePrompt: request.negativePrompt, steps: request.steps,
            sampler: generation.scheduler.a1111Name, cfgScale: Double(generation.guidance), seed: seed,
            width: generation.width, height: generation.height, model: model.name, extras: extras)
    }
}
