import Foundation

/// DPM-Solver++(2M) (Lu et al. 2022), as diffusers'
/// `DPMSolverMultistepScheduler` with algorithm_type "dpmsolver++",
/// solver_order 2, solver_type "midpoint", lower_order_final and a final
/// sigma of 0: `dpm++2m` and `dpm++2m-karras`.
///
/// It works in the data-prediction form: the model output becomes an x₀
/// estimate, and each step integrates exactly in λ = log(α/σ) with the last
/// two x₀ estimates (a first-order step at the start and, to land on σ = 0,
/// at the end). Timesteps are integers, the model input is not scaled, and
/// the initial noise has unit variance (the sample is x_t = α_t x₀ + σ_t ε).
public struct DPMSolverMultistepScheduler: Scheduler {
    public let timesteps: [Float]
    public let sigmas: [Float]
    public let initNoiseSigma: Float = 1

    private let predictionType: SchedulerConfiguration.PredictionType
    /// x₀ estimates of the previous and the current step.
    private var previousEstimate: [Float]?
    /// How many steps have run (diffusers' lower_order_nums, capped at 2).
    private var lowerOrderCount = 0
    private var order = StepOrder()

    public init(configuration: SchedulerConfiguration = .init(), steps: Int) throws {
        try configuration.validate(steps: steps)
        let noise = try NoiseSchedule(configuration: configuration, terminalSNR: .rescaledWithFloor)
        let table = noise.trainingSigmas
        let trainCount = configuration.numTrainTimesteps
        // lambda_min_clipped is -inf: the whole training range is usable.
        let lastTimestep = trainCount

        var timesteps: [Double]
        switch configuration.timestepSpacing ?? .linspace {
        case .linspace:
            timesteps = Array(NumPy.linspace(0, Double(lastTimestep - 1), count: steps + 1)
                .map(NumPy.round).reversed().dropLast())
        case .leading:
            let ratio = lastTimestep / (steps + 1)
            timesteps = (0...steps).reversed().dropLast().map { Double($0 * ratio + configuration.stepsOffset) }
        case .trailing:
            let ratio = Double(trainCount) / Double(steps)
            timesteps = NumPy.arange(Double(lastTimestep), 0, step: -ratio).map { NumPy.round($0) - 1 }
        }

        var sigmas: [Double]
        if configuration.useKarrasSigmas {
            // From the whole training table (not the spaced timesteps), mapped
            // back to timesteps, rounded except for the cosine schedule
            // (whose timesteps torch then truncates to integers).
            sigmas = KarrasSigmas.sigmas(min: Double(table[0]), max: Double(table[table.count - 1]), count: steps)
            let logSigmas = SigmaSchedule.logSigmas(table)
            let round = configuration.betaSchedule != .squaredcosCapV2
            timesteps = sigmas.map {
                let t = SigmaSchedule.timestep(forSigma: $0, logSigmas: logSigmas)
                return round ? NumPy.round(t) : t.rounded(.towardZero)
            }
        } else {
            sigmas = timesteps.map { NumPy.interpolate($0, table: table) }
        }
        self.timesteps = timesteps.map { Float($0) }
        self.sigmas = sigmas.map { Float($0) } + [0]
        predictionType = configuration.predictionType
    }

    public mutating func step<Source: RandomSource>(
        modelOutput: [Float], step: Int, sample: [Float], randomSource: inout Source
    ) -> [Float] {
        order.advance(to: step, count: timesteps.count, scheduler: "dpm++2m")
        // The last step is first order (final sigma 0); so is the first.
        let isFinal = step == timesteps.count - 1
        let estimate = dataPrediction(modelOutput, sample: sample, sigma: sigmas[step])
        let result: [Float]
        if lowerOrderCount < 1 || isFinal || previousEstimate == nil {
            result = firstOrderUpdate(estimate, sample: sample, step: step)
        } else {
            result = secondOrderUpdate(estimate, previous: previousEstimate!, sample: sample, step: step)
        }
        previousEstimate = estimate
        lowerOrderCount = min(lowerOrderCount + 1, 2)
        return result
    }

    /// α_t = 1 / sqrt(σ² + 1) and σ_t = σ α_t of the VP process at noise level σ.
    /// diffusers' `add_noise`: α_t · original + σ_t · noise at evaluation `step`'s σ.
    public func addNoise(_ original: [Float], noise: [Float], step: Int) -> [Float] {
        let (alpha, sigma) = Self.alphaSigma(sigmas[step])
        return Elementwise.map(original, noise) { x, n in alpha * x + sigma * n }
    }

    private static func alphaSigma(_ sigma: Float) -> (alpha: Float, sigma: Float) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        return (alpha, sigma * alpha)
    }

    private static func lambda(_ alphaSigma: (alpha: Float, sigma: Float)) -> Float {
        log(alphaSigma.alpha) - log(alphaSigma.sigma)
    }

    /// diffusers' `convert_model_output` for dpmsolver++: the x₀ estimate.
    private func dataPrediction(_ modelOutput: [Float], sample: [Float], sigma: Float) -> [Float] {
        let (alpha, sigmaT) = Self.alphaSigma(sigma)
        switch predictionType {
        case .epsilon:
            return Elementwise.map(sample, modelOutput) { s, m in (s - sigmaT * m) / alpha }
        case .vPrediction:
            return Elementwise.map(sample, modelOutput) { s, m in alpha * s - sigmaT * m }
        case .sample:
            return modelOutput
        }
    }

    private func firstOrderUpdate(_ estimate: [Float], sample: [Float], step: Int) -> [Float] {
        let target = Self.alphaSigma(sigmas[step + 1]), source = Self.alphaSigma(sigmas[step])
        let h = Self.lambda(target) - Self.lambda(source)
        let sampleScale = target.sigma / source.sigma
        let estimateScale = target.alpha * (exp(-h) - 1)
        return Elementwise.map(sample, estimate) { s, x0 in sampleScale * s - estimateScale * x0 }
    }

    private func secondOrderUpdate(_ estimate: [Float], previous: [Float], sample: [Float], step: Int) -> [Float] {
        let target = Self.alphaSigma(sigmas[step + 1])
        let s0 = Self.alphaSigma(sigmas[step]), s1 = Self.alphaSigma(sigmas[step - 1])
        let lambdaT = Self.lambda(target), lambda0 = Self.lambda(s0), lambda1 = Self.lambda(s1)
        let h = lambdaT - lambda0, h0 = lambda0 - lambda1
        let r0 = h0 / h
        let differenceScale = 1 / r0
        let sampleScale = target.sigma / s0.sigma
        let estimateScale = target.alpha * (exp(-h) - 1)
        let correctionScale = 0.5 * estimateScale
        // Midpoint: D0 = m0, D1 = (m0 - m1) / r0.
        return Elementwise.map(sample, estimate, previous) { s, m0, m1 in
            let d1 = differenceScale * (m0 - m1)
            return sampleScale * s - estimateScale * m0 - correctionScale * d1
        }
    }
}

extension SchedulerKind {
    public static let dpmSolverMultistep = SchedulerKind(name: "dpm++2m", a1111Name: "DPM++ 2M",
                                                         diffusersClassName: "DPMSolverMultistepScheduler") {
        try DPMSolverMultistepScheduler(configuration: $0, steps: $1)
    }
    public static let dpmSolverMultistepKarras = SchedulerKind(
        name: "dpm++2m-karras", a1111Name: "DPM++ 2M Karras", diffusersClassName: "DPMSolverMultistepScheduler",
        usesKarrasSigmas: true) {
        try DPMSolverMultistepScheduler(configuration: $0, steps: $1)
    }
}
