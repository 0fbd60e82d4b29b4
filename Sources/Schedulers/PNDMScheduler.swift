/// PNDM's pseudo linear multistep method (Liu et al. 2022) with the
/// Runge-Kutta warm-up skipped, as diffusers' `PNDMScheduler` with
/// `skip_prk_steps` (Stable Diffusion 1.5's default scheduler).
///
/// The warm-up evaluates the model twice at the first timestep: once for a
/// plain step and once, from the same starting sample, to average the two
/// predictions (a second-order start). So `timesteps` has steps + 1 entries,
/// the second repeating the next timestep, exactly as diffusers lists them.
/// Later steps combine the last 2, 3, then 4 model outputs with
/// Adams-Bashforth weights.
public struct PNDMScheduler: Scheduler {
    public let timesteps: [Float]
    public var sigmas: [Float] { [] }
    public let initNoiseSigma: Float = 1

    private let plmsTimesteps: [Int]
    private let alphasCumprod: [Float]
    private let finalAlphaCumprod: Float
    private let stride: Int
    private let predictionType: SchedulerConfiguration.PredictionType

    /// The last four model outputs (oldest first).
    private var history: [[Float]] = []
    /// The sample the warm-up's second evaluation restarts from.
    private var warmUpSample: [Float]?
    private var counter = 0
    private var order = StepOrder()

    /// diffusers' `add_noise` (DDPM form): √ᾱ_t · original + √(1 − ᾱ_t) · noise at evaluation `step`'s timestep.
    public func addNoise(_ original: [Float], noise: [Float], step: Int) -> [Float] {
        NoiseSchedule.noised(original, noise: noise, alphaProduct: alphasCumprod[Int(timesteps[step])])
    }

    public init(configuration: SchedulerConfiguration = .init(), steps: Int) throws {
        try configuration.validate(steps: steps)
        guard configuration.skipPrkSteps else {
            throw SchedulerError.unsupported(key: "skip_prk_steps", value: "false")
        }
        // diffusers' PNDM steps ε or v only.
        guard configuration.predictionType != .sample else {
            throw SchedulerError.unsupported(key: "prediction_type", value: "sample (with PNDM; every other sampler has it)")
        }
        let noise = try NoiseSchedule(configuration: configuration)
        alphasCumprod = noise.alphasCumprod
        finalAlphaCumprod = configuration.setAlphaToOne ? 1 : noise.alphasCumprod[0]
        stride = configuration.numTrainTimesteps / steps
        // diffusers: concat(ts[:-1], ts[-2:-1], ts[-1:]) reversed, with ts ascending.
        let descending = try DiscreteTimesteps.descending(
            configuration: configuration, spacing: configuration.timestepSpacing ?? .leading, steps: steps)
        var plms = descending
        if descending.count >= 2 { plms.insert(descending[1], at: 1) }
        plmsTimesteps = plms
        timesteps = plms.map { Float($0) }
        predictionType = configuration.predictionType
    }

    public mutating func step<Source: RandomSource>(
        modelOutput: [Float], step: Int, sample: [Float], randomSource: inout Source
    ) -> [Float] {
        order.advance(to: step, count: timesteps.count, scheduler: "pndm")
        var timestep = plmsTimesteps[step]
        var previous = timestep - stride
        if counter != 1 {
            history = Array(history.suffix(3)) + [modelOutput]
        } else {
            // The warm-up's second evaluation redoes the first step.
            previous = timestep
            timestep += stride
        }

        var start = sample
        let combined: [Float]
        if history.count == 1 && counter == 0 {
            combined = modelOutput
            warmUpSample = sample
        } else if history.count == 1 && counter == 1 {
            combined = Elementwise.map(modelOutput, history[0]) { ($0 + $1) / 2 }
            start = warmUpSample ?? sample
            warmUpSample = nil
        } else if history.count == 2 {
            combined = Elementwise.map(history[1], history[0]) { (3 * $0 - $1) / 2 }
        } else if history.count == 3 {
            combined = Elementwise.map(history[2], history[1], history[0]) { (23 * $0 - 16 * $1 + 5 * $2) / 12 }
        } else {
            let e1 = history[3], e2 = history[2], e3 = history[1], e4 = history[0]
            let scale = Float(1.0 / 24.0)
            combined = Elementwise.map(Elementwise.map(e1, e2, e3) { 55 * $0 - 59 * $1 + 37 * $2 }, e4) {
                scale * ($0 - 9 * $1)
            }
        }
        counter += 1
        return previousSample(start, timestep: timestep, previous: previous, modelOutput: combined)
    }

    /// Formula (9) of the PNDM paper: x_{t-δ} from x_t and the ε estimate.
    private func previousSample(_ sample: [Float], timestep: Int, previous: Int, modelOutput: [Float]) -> [Float] {
        let alphaProd = alphasCumprod[timestep]
        let alphaProdPrevious = previous >= 0 ? alphasCumprod[previous] : finalAlphaCumprod
        let betaProd = 1 - alphaProd
        let betaProdPrevious = 1 - alphaProdPrevious
        let sampleScale = (alphaProdPrevious / alphaProd).squareRoot()
        let denominator = alphaProd * betaProdPrevious.squareRoot()
            + (alphaProd * betaProd * alphaProdPrevious).squareRoot()
        let difference = alphaProdPrevious - alphaProd
        let sqrtAlpha = alphaProd.squareRoot(), sqrtBeta = betaProd.squareRoot()
        let v = predictionType == .vPrediction

        return Elementwise.map(sample, modelOutput) { s, m in
            let epsilon = v ? sqrtAlpha * m + sqrtBeta * s : m
            return sampleScale * s - (difference * epsilon) / denominator
        }
    }
}

extension SchedulerKind {
    /// Stable Diffusion 1.5's default; A1111 calls it PLMS.
    public static let pndm = SchedulerKind(name: "pndm", a1111Name: "PLMS", diffusersClassName: "PNDMScheduler") {
        try PNDMScheduler(configuration: $0, steps: $1)
    }
}
