import ImageIO
import Schedulers

/// Inpainting's start (diffusers' `StableDiffusionInpaintPipeline`): white in
/// the mask is repainted, black kept. With a regular 4-channel UNet the kept
/// region's latents, noised to each next level, are blended back after every
/// evaluation (`KnownRegionMask`); an inpainting UNet (9 channels) instead
/// takes the mask and the masked image's latents beside the latents at every
/// evaluation. Draws as diffusers does: the image's VAE sample (unless a
/// 9-channel model starts from pure noise), the noise, the masked image's sample.
public struct InpaintingLatents: StartingLatents {
    public let encoder: ImageLatentEncoder
    public let image: RGBImage
    public let mask: InpaintingMask
    public let strength: Double
    public let steps: Int
    /// Whether the UNet takes mask and masked-image latents as input channels.
    public let conditionsOnMask: Bool

    public init(encoder: ImageLatentEncoder, image: RGBImage, mask: InpaintingMask, strength: Double, steps: Int,
                conditionsOnMask: Bool) {
        self.encoder = encoder
        self.image = image
        self.mask = mask
        self.strength = strength
        self.steps = steps
        self.conditionsOnMask = conditionsOnMask
    }

    public func start(_ shape: LatentShape, scheduler: any Scheduler, random: inout any RandomSource) -> LatentStart {
        let first = ImageToImageLatents.firstStep(steps: steps, strength: strength,
                                                  evaluationsPerStep: scheduler.evaluationsPerStep)
        let pixels = ImageLatentEncoder.normalized(image)
        let fromNoise = strength >= 1
        let imageLatents = conditionsOnMask && fromNoise
            ? nil : encoder.latents(pixels, width: image.width, height: image.height, random: &random)
        let noise = random.normal(count: shape.count)
        let latents = fromNoise ? noise.map { $0 * scheduler.initNoiseSigma }
                                : scheduler.addNoise(imageLatents!, noise: noise, step: first)
        // diffusers: init_image * (mask < 0.5) — the repainted region becomes 0 (grey).
        let masked = zip(pixels.indices, pixels).map { index, value in mask.repaints(pixel: index / 3) ? 0 : value }
        let maskedLatents = encoder.latents(masked, width: image.width, height: image.height, random: &random)
        let latentMask = mask.latentMask(width: shape.width, height: shape.height)
        if conditionsOnMask {
            return LatentStart(latents: latents, firstStep: first, conditioningChannels: latentMask + maskedLatents)
        }
        return LatentStart(latents: latents, firstStep: first,
                           mask: KnownRegionMask(imageLatents: imageLatents!, noise: noise, mask: latentMask))
    }
}

/// Inpainting with a 4-channel UNet: after evaluation i, the kept region is
/// the image's latents noised to evaluation i + 1's level (un-noised after
/// the last): latents = (1 − m) · known + m · latents, as diffusers blends.
public struct KnownRegionMask: LatentMask {
    public let imageLatents: [Float]
    public let noise: [Float]
    /// 1 where repainted, one plane at latent resolution (the same for every channel).
    public let mask: [Float]

    public func blend(_ latents: inout [Float], afterStep step: Int, scheduler: any Scheduler) {
        let known = step + 1 < scheduler.timesteps.count
            ? scheduler.addNoise(imageLatents, noise: noise, step: step + 1) : imageLatents
        let plane = mask.count
        for index in latents.indices {
            let m = mask[index % plane]
            latents[index] = (1 - m) * known[index] + m * latents[index]
        }
    }
}
