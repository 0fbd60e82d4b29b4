/// Trajectory Consistency Distillation's sampler, as diffusers'
/// `TCDScheduler`: for TCD-distilled models and TCD-LoRA (2–8 steps). Its
/// timesteps are LCM's (evenly spaced indices into the `original_inference_steps`
/// distillation schedule); each step predicts the clean sample and the noise,
/// goes back to an intermediate timestep s = ⌊(1 − γ) · t_prev⌋ along the
/// predicted trajectory, then forward to t_prev with fresh noise. γ (`eta`,
/// default 0.3) sets how stochastic: 0 is deterministic. The last step
/// returns the sample at s without noise.
public struct TCDScheduler: Scheduler {
    public let timesteps: [Float]
    public var sigmas: [Float] { [] }
    public let initNoiseSigma: Float = 1
    public var usesRandomNoise: Bool { gamma > 0 }

    private let trainTimesteps: [Int]
    private let alphasCumprod: [Float]
    private let predictionType: SchedulerConfiguration.PredictionType
    private let gamma: Double
    private var order = StepOrder()

    /// diffusers' `TCDScheduler.step` default (the TCD paper's recommended γ).
    public static let defaultGamma = 0.3

    public init(configuration: SchedulerConfiguration = .init(), steps: Int) throws {
        try configuration.validate(steps: steps)
        let noise = try NoiseSchedule(configuration: configuration, terminalSNR: .rescaled)
        alphasCumprod = noise.alphasCumprod
        trainTimesteps = try DistillationTimesteps.descending(configuration: configuration, steps: steps, sampler: "TCD")
        timesteps = trainTimesteps.map { Float($0) }
        predictionType = configuration.predictionType
        gamma = configuration.eta ?? Self.defaultGamma
    }

    /// diffusers' `add_noise` (DDPM form) at evaluation `step`'s timestep.
    public func addNoise(_ original: [Float], noise: [Float], step: Int) -> [Float] {
        NoiseSchedule.noised(original, noise: noise, alphaProduct: alphasCumprod[trainTimesteps[step]])
    }

    public mutating func step<Source: RandomSource>(
        modelOutput: [Float], step: Int, sample: [Float], randomSource: inout Source
    ) -> [Float] {
        order.advance(to: step, count: timesteps.count, scheduler: "tcd")
        let t = trainTimesteps[step]
        let previous = step + 1 < trainTimesteps.count ? trainTimesteps[step + 1] : 0
        // floor((1 − γ) · t_prev) as torch does it: a float32 product of the float γ and the integer.
        let s = Int((Float(1 - gamma) * Float(previous)).rounded(.down))
        let alphaProd = alphasCumprod[t], alphaProdPrevious = alphasCumprod[previous]
        let alphaProdS = alphasCumprod[s]
        let sqrtAlpha = alphaProd.squareRoot(), sqrtBeta = (1 - alphaProd).squareRoot()
        let sqrtAlphaS = alphaProdS.squareRoot(), sqrtBetaS = (1 - alphaProdS).squareRoot()
        let prediction = predictionType
        let noisedAtS = Elementwise.map(sample, modelOutput) { x, m in
            let (x0, epsilon) = prediction.decompose(sample: x, output: m, sqrtAlpha: sqrtAlpha, sqrtBeta: sqrtBeta)
            return sqrtAlphaS * x0 + sqrtBetaS * epsilon
        }
        guard gamma > 0, step + 1 < timesteps.count else { return noisedAtS }
        let ratio = alphaProdPrevious / alphaProdS
        let keep = ratio.squareRoot(), fresh = (1 - ratio).squareRoot()
        let noise = randomSource.normal(count: sample.count)
        return Elementwise.map(noisedAtS, noise) { x, n in keep * x + fresh * n }
    }
}

extension SchedulerKind {
    /// TCD, for TCD-distilled models and TCD-LoRA; `eta` is its γ.
    public static let tcd = SchedulerKind(name: "tcd", a1111Name: "TCD", diffusersClassName: "TCDScheduler",
                                          defaultEta: TCDScheduler.defaultGamma, choosesTimestepSpacing: false) {
        try TCDScheduler(configuration: $0, steps: $1)
    }
}
