import Models
import Schedulers
import TensorCore

/// The sampling loop: one UNet evaluation per scheduler timestep, on both
/// halves of the batch when guided ([unconditional, conditional], as
/// diffusers batches them), classifier-free guidance, the scheduler step on
/// the host, and the optional latent mask. The conditioning is asked for at
/// every evaluation (prompt editing changes it part-way).
public struct DenoisingLoop: Sendable {
    public let unet: UNet2DConditionModel
    public let shape: LatentShape
    /// Guidance scale; ≤ 1 runs the conditional half alone (diffusers' `do_classifier_free_guidance`).
    public let guidance: Float
    /// diffusers' `guidance_rescale` φ (0: off); applies only when guided.
    public let guidanceRescale: Float
    /// SDXL's size conditioning, the same for every batch row (nil for UNets without it).
    public let sizeConditioning: SizeConditioning?

    public init(unet: UNet2DConditionModel, shape: LatentShape, guidance: Float, guidanceRescale: Float = 0,
                sizeConditioning: SizeConditioning? = nil) {
        self.unet = unet
        self.shape = shape
        self.guidance = guidance
        self.guidanceRescale = guidanceRescale
        self.sizeConditioning = sizeConditioning
    }

    public var isGuided: Bool { guidance > 1 }

    /// Runs evaluations `start.firstStep..<scheduler.timesteps.count`.
    /// - Parameter interruption: A1111's interrupt and skip: asked before each
    ///   evaluation, and it abandons the one under way; either ends the loop,
    ///   returning the latents of the evaluations finished before it.
    /// - Parameter afterStep: called after each evaluation with (evaluations
    ///   done before it, evaluations this run makes, its seconds, the
    ///   latents); throwing stops the loop.
    public func run(from start: LatentStart, scheduler: inout any Scheduler,
                    conditioning: (Int) throws -> Conditioning,
                    random: inout any RandomSource,
                    interruption: SamplingInterruption = SamplingInterruption(),
                    afterStep: (Int, Int, Double, [Float]) throws -> Void) throws -> [Float] {
        let backend = unet.convIn.weight.backend
        let count = shape.count
        let batch = isGuided ? 2 : 1
        let extra = start.conditioningChannels ?? []
        let inputChannels = shape.channels + extra.count / max(shape.height * shape.width, 1)
        var latents = start.latents
        let evaluations = scheduler.timesteps.count
        for i in start.firstStep..<evaluations {
            if interruption.endsSampling() { break }
            let watch = Stopwatch()
            // Per batch entry: the scaled latents, then any conditioning channels (diffusers' torch.cat on dim 1).
            let input = scheduler.scaleModelInput(latents, step: i) + extra
            // An interrupt or skip abandons this evaluation (its values are then
            // meaningless), keeping the latents from before it.
            let stepCancellation = interruption.stepCancellation()
            let prediction = try ComputeCancellation.$current.withValue(stepCancellation) {
                let sample = backend.upload(Array(repeating: input, count: batch).flatMap { $0 },
                                            shape: [batch, inputChannels, shape.height, shape.width])
                    .permuted([0, 2, 3, 1])
                let text = try conditioning(i)
                return unet(sample, timestep: scheduler.timesteps[i], context: text.sequence,
                            added: try addedConditions(text, batch: batch))
                    .permuted([0, 3, 1, 2]).toArray()
            }
            if stepCancellation.isCancelled {
                _ = interruption.endsSampling()  // a skip is used up here, as at a step's start
                break
            }
            var output = isGuided ? guided(prediction, count: count) : prediction
            if isGuided && guidanceRescale > 0 {
                Self.rescale(&output, conditional: prediction[count..<(2 * count)], phi: guidanceRescale)
            }
            latents = scheduler.step(modelOutput: output, step: i, sample: latents, randomSource: &random)
            start.mask?.blend(&latents, afterStep: i, scheduler: scheduler)
            // Progress counts the evaluations this run makes (image-to-image starts part-way).
            try afterStep(i - start.firstStep, evaluations - start.firstStep, watch.seconds, latents)
        }
        return latents
    }

    /// What an SDXL-style UNet takes besides the text states: the pooled text
    /// and the size numbers, per batch row.
    private func addedConditions(_ text: Conditioning, batch: Int) throws -> AddedConditions? {
        guard unet.addedEmbedding != nil else { return nil }
        guard let pooled = text.pooled, let sizes = sizeConditioning else {
            throw ModelInputError.missingAddedConditions
        }
        return AddedConditions(pooled: pooled, sizes: Array(repeating: sizes.numbers, count: batch).flatMap { $0 })
    }

    /// diffusers' `rescale_noise_cfg` ("Common Diffusion Noise Schedules and Sample Steps are Flawed",
    /// §3.4): the guided prediction scaled to the conditional one's standard deviation (unbiased, over
    /// the whole sample, accumulated in float64 as torch's CPU `std` does), blended in by φ.
    static func rescale(_ guided: inout [Float], conditional: ArraySlice<Float>, phi: Float) {
        func std<C: Collection>(_ values: C) -> Float where C.Element == Float {
            let n = Double(values.count)
            let mean = values.reduce(0.0) { $0 + Double($1) } / n
            let squares = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
            return Float((squares / max(n - 1, 1)).squareRoot())
        }
        let ratio = std(conditional) / std(guided)
        for i in guided.indices { guided[i] = phi * (guided[i] * ratio) + (1 - phi) * guided[i] }
    }

    /// ε_uncond + g·(ε_cond − ε_uncond), element by element as diffusers computes it.
    private func guided(_ prediction: [Float], count: Int) -> [Float] {
        let g = guidance
        return [Float](unsafeUninitializedCapacity: count) { output, initialized in
            prediction.withUnsafeBufferPointer { p in
                for j in 0..<count {
                    let uncond = p[j], cond = p[count + j]
                    output[j] = uncond + g * (cond - uncond)
                }
            }
            initialized = count
        }
    }
}
