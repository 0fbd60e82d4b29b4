/// Euler's method on the probability-flow ODE in sigma (Karras et al. 2022,
/// Algorithm 2 without churn), as diffusers' `EulerDiscreteScheduler`:
/// `euler`, and `euler-karras` with Karras sigmas.
public struct EulerDiscreteScheduler: SigmaScheduler {
    public let timesteps: [Float]
    public let sigmas: [Float]
    public let initNoiseSigma: Float

    private let predictionType: SchedulerConfiguration.PredictionType
    private var order = StepOrder()

    public init(configuration: SchedulerConfiguration = .init(), steps: Int) throws {
        let schedule = try SigmaSchedule(configuration: configuration, steps: steps, karras: configuration.useKarrasSigmas)
        timesteps = schedule.timesteps
        sigmas = schedule.sigmas
        initNoiseSigma = schedule.initNoiseSigma
        predictionType = configuration.predictionType
    }

    public mutating func step<Source: RandomSource>(
        modelOutput: [Float], step: Int, sample: [Float], randomSource: inout Source
    ) -> [Float] {
        order.advance(to: step, count: timesteps.count, scheduler: "euler")
        let sigma = sigmas[step]
        let dt = sigmas[step + 1] - sigma
        let denoise = SigmaScaling.denoiser(predictionType, sigma: sigma)
        return Elementwise.map(sample, modelOutput) { s, m in
            let derivative = (s - denoise(s, m)) / sigma
            return s + derivative * dt
        }
    }
}
