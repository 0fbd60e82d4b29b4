/// The Latent Consistency Model sampler, as diffusers' `LCMScheduler`: the
/// few-step sampler of LCM-distilled models and LCM-LoRA (2–8 steps,
/// guidance ≤ 2). Its timesteps are evenly spaced indices into the schedule
/// the model was distilled on (`original_inference_steps`, 50: timesteps
/// 999, 979, …, 19); each step predicts the clean sample, applies the
/// consistency boundary condition (c_skip · x + c_out · x₀), and re-noises it
/// to the next timestep with fresh noise from the run's generator — except
/// the last, which returns the denoised sample.
public struct LCMScheduler: Scheduler {
    public let timesteps: [Float]
    public var sigmas: [Float] { [] }
    public let initNoiseSigma: Float = 1
    public var usesRandomNoise: Bool { true }

    private let trainTimesteps: [Int]
    private let alphasCumprod: [Float]
    private let finalAlphaCumprod: Float
    private let predictionType: SchedulerConfiguration.PredictionType
    private let timestepScaling: Double
    private let clipRange: Float?
    private var order = StepOrder()

    /// The consistency models' σ_data.
    static let sigmaData = 0.5

    public init(configuration: SchedulerConfiguration = .init(), steps: Int) throws {
        try configuration.validate(steps: steps)
        let noise = try NoiseSchedule(configuration: configuration, terminalSNR: .rescaled)
        alphasCumprod = noise.alphasCumprod
        finalAlphaCumprod = configuration.setAlphaToOne ? 1 : noise.alphasCumprod[0]
        trainTimesteps = try DistillationTimesteps.descending(configuration: configuration, steps: steps, sampler: "LCM")
        timesteps = trainTimesteps.map { Float($0) }
        predictionType = configuration.predictionType
        timestepScaling = configuration.timestepScaling
        clipRange = configuration.clipSample ? Float(configuration.clipSampleRange) : nil
    }

    /// diffusers' `add_noise` (DDPM form) at evaluation `step`'s timestep.
    public func addNoise(_ original: [Float], noise: [Float], step: Int) -> [Float] {
        NoiseSchedule.noised(original, noise: noise, alphaProduct: alphasCumprod[trainTimesteps[step]])
    }

    public mutating func step<Source: RandomSource>(
        modelOutput: [Float], step: Int, sample: [Float], randomSource: inout Source
    ) -> [Float] {
        order.advance(to: step, count: timesteps.count, scheduler: "lcm")
        let t = trainTimesteps[step]
        let alphaProd = alphasCumprod[t]
        let sqrtAlpha = alphaProd.squareRoot(), sqrtBeta = (1 - alphaProd).squareRoot()
        // The boundary condition in float64 from the integer timestep, as diffusers computes it,
        // then applied in float32 (torch casts a Python scalar to the tensor's dtype).
        let scaled = Double(t) * timestepScaling
        let sigmaData2 = Self.sigmaData * Self.sigmaData
        let cSkip = Float(sigmaData2 / (scaled * scaled + sigmaData2))
        let cOut = Float(scaled / (scaled * scaled + sigmaData2).squareRoot())
        let prediction = predictionType
        let clipRange = self.clipRange
        let denoised = Elementwise.map(sample, modelOutput) { s, m in
            var x0 = prediction.decompose(sample: s, output: m, sqrtAlpha: sqrtAlpha, sqrtBeta: sqrtBeta).x0
            if let clipRange { x0 = Elementwise.clamp(x0, clipRange) }
            return cOut * x0 + cSkip * s
        }
        guard step + 1 < timesteps.count else { return denoised }
        let previous = trainTimesteps[step + 1]
        let alphaPrevious = previous >= 0 ? alphasCumprod[previous] : finalAlphaCumprod
        let sqrtAlphaPrevious = alphaPrevious.squareRoot(), sqrtBetaPrevious = (1 - alphaPrevious).squareRoot()
        let noise = randomSource.normal(count: sample.count)
        return Elementwise.map(denoised, noise) { d, n in sqrtAlphaPrevious * d + sqrtBetaPrevious * n }
    }
}

extension SchedulerKind {
    /// LCM, for LCM-distilled models and LCM-LoRA.
    public static let lcm = SchedulerKind(name: "lcm", a1111Name: "LCM", diffusersClassName: "LCMScheduler",
                                          choosesTimestepSpacing: false) {
        try LCMScheduler(configuration: $0, steps: $1)
    }
}
