/// Heun's method (Karras et al. 2022, Algorithm 1 without churn), as
/// diffusers' `HeunDiscreteScheduler`: an Euler step to the next sigma, then
/// a correction with the average of the slopes at both ends.
///
/// That takes two model evaluations per step except the last (which is a
/// plain Euler step to σ = 0), so `timesteps` has 2N - 1 entries:
/// t₀, t₁, t₁, t₂, t₂, …, t_{N-1}, t_{N-1}. Even entries are the Euler
/// ("first order") evaluations, odd ones the corrections; `sigmas` is
/// expanded the same way (2N entries, the last 0) and `scaleModelInput` uses
/// the entry of the evaluation, as diffusers does.
public struct HeunDiscreteScheduler: SigmaScheduler {
    private(set) var schedule: SigmaSchedule
    private let clipRange: Float?

    /// After a first-order evaluation: its slope, its dt and its start sample.
    private var pending: (derivative: [Float], dt: Float, sample: [Float])?

    public var evaluationsPerStep: Int { 2 }

    public init(configuration: SchedulerConfiguration = .init(), steps: Int) throws {
        schedule = try SigmaSchedule(configuration: configuration, steps: steps, karras: configuration.useKarrasSigmas)
            .repeatingIntermediateSteps()
        clipRange = configuration.clipSample ? Float(configuration.clipSampleRange) : nil
    }

    public mutating func step<Source: RandomSource>(
        modelOutput: [Float], step: Int, sample: [Float], randomSource: inout Source
    ) -> [Float] {
        schedule.advance(to: step, scheduler: "heun")
        let clipRange = self.clipRange
        if let pending {
            // Correction: slope at the end point, averaged with the Euler slope,
            // applied from the step's start sample.
            let sigmaNext = sigmas[step]
            let denoise = schedule.denoiser(sigma: sigmaNext)
            let derivative = Elementwise.map(sample, modelOutput, pending.derivative) { s, m, d in
                var x0 = denoise(s, m)
                if let clipRange { x0 = Elementwise.clamp(x0, clipRange) }
                return (d + (s - x0) / sigmaNext) / 2
            }
            let dt = pending.dt
            self.pending = nil
            return Elementwise.map(pending.sample, derivative) { s, d in s + d * dt }
        }
        let sigma = sigmas[step]
        let dt = sigmas[step + 1] - sigma
        let denoise = schedule.denoiser(sigma: sigma)
        let derivative = Elementwise.map(sample, modelOutput) { s, m in
            var x0 = denoise(s, m)
            if let clipRange { x0 = Elementwise.clamp(x0, clipRange) }
            return (s - x0) / sigma
        }
        pending = (derivative, dt, sample)
        return Elementwise.map(sample, derivative) { s, d in s + d * dt }
    }
}

extension SchedulerKind {
    /// Two model evaluations per step.
    public static let heun = SchedulerKind(name: "heun", a1111Name: "Heun", diffusersClassName: "HeunDiscreteScheduler") {
        try HeunDiscreteScheduler(configuration: $0, steps: $1)
    }
}
