/// DDIM (Song et al. 2021), as diffusers' `DDIMScheduler`. Each step
/// predicts the clean sample x₀ and re-noises it to the previous timestep's
/// alpha product: deterministically for η = 0 (the default), with η's share
/// of the DDPM posterior's variance as fresh noise otherwise.
public struct DDIMScheduler: Scheduler {
    public let timesteps: [Float]
    public var sigmas: [Float] { [] }
    public let initNoiseSigma: Float = 1

    private let trainTimesteps: [Int]
    private let alphasCumprod: [Float]
    /// ᾱ "before" timestep 0: 1, or ᾱ₀ (SD 1.5: set_alpha_to_one false).
    private let finalAlphaCumprod: Float
    /// diffusers steps back by num_train_timesteps // steps whatever the spacing.
    private let stride: Int
    private let predictionType: SchedulerConfiguration.PredictionType
    private let clipRange: Float?
    private let eta: Float
    private var order = StepOrder()

    public var usesRandomNoise: Bool { eta > 0 }

    /// diffusers' `add_noise` (DDPM form): √ᾱ_t · original + √(1 − ᾱ_t) · noise at evaluation `step`'s timestep.
    public func addNoise(_ original: [Float], noise: [Float], step: Int) -> [Float] {
        NoiseSchedule.noised(original, noise: noise, alphaProduct: alphasCumprod[Int(timesteps[step])])
    }

    public init(configuration: SchedulerConfiguration = .init(), steps: Int) throws {
        try configuration.validate(steps: steps)
        let noise = try NoiseSchedule(configuration: configuration, terminalSNR: .rescaled)
        alphasCumprod = noise.alphasCumprod
        finalAlphaCumprod = configuration.setAlphaToOne ? 1 : noise.alphasCumprod[0]
        stride = configuration.numTrainTimesteps / steps
        trainTimesteps = try DiscreteTimesteps.descending(
            configuration: configuration, spacing: configuration.timestepSpacing ?? .leading, steps: steps)
        timesteps = trainTimesteps.map { Float($0) }
        predictionType = configuration.predictionType
        clipRange = configuration.clipSample ? Float(configuration.clipSampleRange) : nil
        eta = Float(configuration.eta ?? 0)
    }

    public mutating func step<Source: RandomSource>(
        modelOutput: [Float], step: Int, sample: [Float], randomSource: inout Source
    ) -> [Float] {
        order.advance(to: step, count: timesteps.count, scheduler: "ddim")
        let t = trainTimesteps[step]
        let previous = t - stride
        let alphaProd = alphasCumprod[t]
        let alphaProdPrevious = previous >= 0 ? alphasCumprod[previous] : finalAlphaCumprod
        let betaProd = 1 - alphaProd
        let sqrtAlpha = alphaProd.squareRoot(), sqrtBeta = betaProd.squareRoot()
        let sqrtAlphaPrevious = alphaProdPrevious.squareRoot()
        // σ_t = η · √((1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev)); the direction keeps the rest.
        let betaProdPrevious = 1 - alphaProdPrevious
        let variance = (betaProdPrevious / betaProd) * (1 - alphaProd / alphaProdPrevious)
        let standardDeviation = eta * variance.squareRoot()
        let directionScale = (1 - alphaProdPrevious - standardDeviation * standardDeviation).squareRoot()
        let clipRange = self.clipRange
        let prediction = predictionType

        let previousSample = Elementwise.map(sample, modelOutput) { s, m in
            var (x0, epsilon) = prediction.decompose(sample: s, output: m, sqrtAlpha: sqrtAlpha, sqrtBeta: sqrtBeta)
            if let clipRange { x0 = Elementwise.clamp(x0, clipRange) }
            return sqrtAlphaPrevious * x0 + directionScale * epsilon
        }
        guard eta > 0 else { return previousSample }
        let noise = randomSource.normal(count: sample.count)
        return Elementwise.map(previousSample, noise) { x, n in x + standardDeviation * n }
    }
}

extension SchedulerKind {
    /// DDIM, η 0 unless given (diffusers' pipelines pass 0; so does A1111).
    public static let ddim = SchedulerKind(name: "ddim", a1111Name: "DDIM", diffusersClassName: "DDIMScheduler",
                                           defaultEta: 0) {
        try DDIMScheduler(configuration: $0, steps: $1)
    }
}
