import Foundation

/// The inference timesteps and sigmas of the k-diffusion-style schedulers
/// (Euler, Euler ancestral, LMS, Heun), built as their diffusers
/// `set_timesteps` builds them: timesteps spaced over the training range,
/// sigmas interpolated from the training sigma table in double (`np.interp`),
/// optionally replaced by Karras sigmas (whose timesteps are then mapped back
/// through the log-sigma table), and a final sigma of 0.
struct SigmaSchedule: Sendable {
    /// One per step, float32 (what the model sees).
    var timesteps: [Float]
    /// One per step plus the final 0.
    var sigmas: [Float]
    /// diffusers' `init_noise_sigma`: the largest sigma, or sqrt(max² + 1)
    /// for `leading` spacing (whose first timestep is below the training maximum).
    var initNoiseSigma: Float
    /// What the model predicts, for `denoiser(at:)`.
    let predictionType: SchedulerConfiguration.PredictionType
    /// Which evaluation comes next (see `StepOrder`).
    private var order = StepOrder()

    /// Validates `configuration` for `steps` and builds the schedule.
    /// - Parameter terminalSNR: Euler's and Euler a's `.rescaledWithFloor`; Heun and LMS have no zero-SNR option in diffusers.
    init(configuration: SchedulerConfiguration, steps: Int, karras: Bool,
         terminalSNR: NoiseSchedule.TerminalSNR = .asConfigured) throws {
        try configuration.validate(steps: steps)
        let noise = try NoiseSchedule(configuration: configuration, terminalSNR: terminalSNR)
        let trainCount = configuration.numTrainTimesteps
        let spacing = configuration.timestepSpacing ?? .linspace
        let table = noise.trainingSigmas

        // Timesteps as diffusers stores them: float32 numpy arrays.
        var timesteps: [Float]
        switch spacing {
        case .linspace:
            timesteps = NumPy.linspace(0, Double(trainCount - 1), count: steps).reversed().map { Float($0) }
        case .leading:
            let ratio = trainCount / steps
            timesteps = (0..<steps).reversed().map { Float($0 * ratio) + Float(configuration.stepsOffset) }
        case .trailing:
            let ratio = Double(trainCount) / Double(steps)
            timesteps = NumPy.arange(Double(trainCount), 0, step: -ratio).map { Float(NumPy.round($0)) - 1 }
        }

        var sigmas = timesteps.map { NumPy.interpolate(Double($0), table: table) }
        if karras, let last = sigmas.last, let first = sigmas.first {
            sigmas = KarrasSigmas.sigmas(min: last, max: first, count: steps)
            let logSigmas = Self.logSigmas(table)
            timesteps = sigmas.map { Float(Self.timestep(forSigma: $0, logSigmas: logSigmas)) }
        }
        self.timesteps = timesteps
        self.sigmas = sigmas.map { Float($0) } + [0]

        let maxSigma = self.sigmas.max() ?? 0
        initNoiseSigma = spacing == .leading ? (maxSigma * maxSigma + 1).squareRoot() : maxSigma
        predictionType = configuration.predictionType
    }

    /// Checks that `step` is the evaluation due (see `StepOrder`) and moves past it.
    mutating func advance(to step: Int, scheduler: String) {
        order.advance(to: step, count: timesteps.count, scheduler: scheduler)
    }

    /// The clean-sample estimate x₀(x, model output) at `sigma`.
    func denoiser(sigma: Float) -> (Float, Float) -> Float {
        SigmaScaling.denoiser(predictionType, sigma: sigma)
    }

    /// Each entry after the first repeated, as Heun evaluates the model twice
    /// per step: timesteps t₀, t₁, t₁, …, t_{N-1}, t_{N-1} and sigmas expanded
    /// the same way (2N entries, the last 0). The largest sigma, and so the
    /// initial noise, stays as it was.
    func repeatingIntermediateSteps() -> SigmaSchedule {
        var expanded = self
        let t = timesteps, s = sigmas
        expanded.timesteps = [t[0]] + t.dropFirst().flatMap { [$0, $0] }
        expanded.sigmas = [s[0]] + s.dropFirst().dropLast().flatMap { [$0, $0] } + [s[s.count - 1]]
        return expanded
    }

    /// `np.log` of the float32 sigma table, kept in float32 as numpy does.
    static func logSigmas(_ table: [Float]) -> [Float] {
        table.map { Float(log(Double($0))) }
    }

    /// diffusers' `_sigma_to_t`: the fractional training timestep whose sigma
    /// is `sigma`, by linear interpolation in log sigma between the two
    /// neighbouring table entries (clamped to the table).
    static func timestep(forSigma sigma: Double, logSigmas: [Float]) -> Double {
        let logSigma = log(max(sigma, 1e-10))
        // The last entry not above logSigma (0 if none), kept below the end.
        var low = 0
        for (i, value) in logSigmas.enumerated() where logSigma - Double(value) >= 0 {
            low = i
        }
        low = min(low, logSigmas.count - 2)
        let lowValue = logSigmas[low], highValue = logSigmas[low + 1]
        // numpy: float32 scalar minus float64 is float64; float32 minus float32 stays float32.
        var w = (Double(lowValue) - logSigma) / Double(lowValue - highValue)
        w = min(max(w, 0), 1)
        return (1 - w) * Double(low) + w * Double(low + 1)
    }
}

/// A scheduler on the sigma schedule: its timesteps, sigmas and initial
/// noise are the schedule's, and the model sees x / sqrt(σ² + 1).
protocol SigmaScheduler: Scheduler {
    var schedule: SigmaSchedule { get }
}
extension SigmaScheduler {
    public var timesteps: [Float] { schedule.timesteps }
    public var sigmas: [Float] { schedule.sigmas }
    public var initNoiseSigma: Float { schedule.initNoiseSigma }

    public func scaleModelInput(_ sample: [Float], step: Int) -> [Float] {
        SigmaScaling.scaleModelInput(sample, sigma: sigmas[step])
    }

    /// diffusers' sigma schedulers: original + noise · σ.
    public func addNoise(_ original: [Float], noise: [Float], step: Int) -> [Float] {
        let sigma = sigmas[step]
        return Elementwise.map(original, noise) { x, n in x + n * sigma }
    }
}
