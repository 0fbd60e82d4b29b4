import Schedulers

/// Where denoising starts: the latents, the first scheduler evaluation to
/// run (0 for text-to-image; part-way for image-to-image), and an optional
/// mask whose known region is kept.
public struct LatentStart: Sendable {
    public var latents: [Float]
    public var firstStep: Int
    public var mask: (any LatentMask)?
    /// Channels the UNet takes after the latents at every evaluation, NCHW
    /// without the batch (an inpainting model's mask and masked-image latents).
    public var conditioningChannels: [Float]?

    public init(latents: [Float], firstStep: Int = 0, mask: (any LatentMask)? = nil,
                conditioningChannels: [Float]? = nil) {
        self.latents = latents
        self.firstStep = firstStep
        self.mask = mask
        self.conditioningChannels = conditioningChannels
    }
}

/// The starting-latents seam: pure noise for text-to-image; an encoded
/// image noised to a strength, or a masked image, for the image-to-image
/// family. Draws from `random`, the generator the whole run shares, so the
/// order of draws matches diffusers'.
public protocol StartingLatents: Sendable {
    func start(_ shape: LatentShape, scheduler: any Scheduler, random: inout any RandomSource) throws -> LatentStart
}

/// Text-to-image: unit noise drawn in NCHW order like `torch.randn`, scaled
/// by the scheduler's initial sigma.
public struct NoiseLatents: StartingLatents {
    public init() {}

    public func start(_ shape: LatentShape, scheduler: any Scheduler, random: inout any RandomSource) -> LatentStart {
        let sigma = scheduler.initNoiseSigma
        return LatentStart(latents: random.normal(count: shape.count).map { $0 * sigma })
    }
}

/// Keeps part of the image while the rest is denoised (diffusers'
/// inpainting with a regular 4-channel UNet blends the known region back
/// after each step).
public protocol LatentMask: Sendable {
    /// Called after scheduler evaluation `step` with the new latents.
    func blend(_ latents: inout [Float], afterStep step: Int, scheduler: any Scheduler)
}
