import ImageIO
import Schedulers

/// Image-to-image's start (diffusers' `StableDiffusionImg2ImgPipeline`):
/// `int(steps × strength)` of the steps run, from the image's latents noised
/// to the first of them (`add_noise` at evaluation t_start × order). Draws
/// the VAE sample first, then the noise.
public struct ImageToImageLatents: StartingLatents {
    public let encoder: ImageLatentEncoder
    /// The image at the output size.
    public let image: RGBImage
    public let strength: Double
    public let steps: Int

    public init(encoder: ImageLatentEncoder, image: RGBImage, strength: Double, steps: Int) {
        self.encoder = encoder
        self.image = image
        self.strength = strength
        self.steps = steps
    }

    /// The first evaluation an image-to-image run makes: diffusers'
    /// `get_timesteps` (t_start = steps − min(int(steps·strength), steps)) × the scheduler's order.
    public static func firstStep(steps: Int, strength: Double, evaluationsPerStep: Int) -> Int {
        max(steps - min(Int(Double(steps) * strength), steps), 0) * evaluationsPerStep
    }

    public func start(_ shape: LatentShape, scheduler: any Scheduler, random: inout any RandomSource) -> LatentStart {
        let first = Self.firstStep(steps: steps, strength: strength, evaluationsPerStep: scheduler.evaluationsPerStep)
        let latents = encoder.latents(ImageLatentEncoder.normalized(image), width: image.width, height: image.height,
                                      random: &random)
        let noise = random.normal(count: shape.count)
        return LatentStart(latents: scheduler.addNoise(latents, noise: noise, step: first), firstStep: first)
    }
}
