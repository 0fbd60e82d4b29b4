/// Ancestral Euler (`euler-a`), as diffusers' `EulerAncestralDiscreteScheduler`:
/// each step goes down to σ_down with Euler's method, then adds fresh noise
/// of standard deviation σ_up, where σ_down² + σ_up² = σ_next² (and
/// σ_up² = σ_next² (σ² - σ_next²) / σ²). Its results depend on the random
/// source, which should continue the generator that made the initial latents.
public struct EulerAncestralScheduler: SigmaScheduler {
    private(set) var schedule: SigmaSchedule
    public var usesRandomNoise: Bool { true }

    /// diffusers' Euler ancestral has no Karras option; `use_karras_sigmas`
    /// is ignored here as it is there.
    public init(configuration: SchedulerConfiguration = .init(), steps: Int) throws {
        schedule = try SigmaSchedule(configuration: configuration, steps: steps, karras: false, terminalSNR: .rescaledWithFloor)
    }

    public mutating func step<Source: RandomSource>(
        modelOutput: [Float], step: Int, sample: [Float], randomSource: inout Source
    ) -> [Float] {
        schedule.advance(to: step, scheduler: "euler-a")
        let sigma = sigmas[step]
        let from2 = sigma * sigma
        let to = sigmas[step + 1], to2 = to * to
        let sigmaUp = (to2 * (from2 - to2) / from2).squareRoot()
        let sigmaDown = (to2 - sigmaUp * sigmaUp).squareRoot()
        let dt = sigmaDown - sigma
        let denoise = schedule.denoiser(sigma: sigma)
        // Drawn on every step, the last included (where σ_up = 0), as diffusers does.
        let noise = randomSource.normal(count: sample.count)
        return Elementwise.map(sample, modelOutput, noise) { s, m, z in
            let derivative = (s - denoise(s, m)) / sigma
            return (s + derivative * dt) + z * sigmaUp
        }
    }
}

extension SchedulerKind {
    /// Stochastic: draws noise every step.
    public static let eulerAncestral = SchedulerKind(name: "euler-a", a1111Name: "Euler a",
                                                     diffusersClassName: "EulerAncestralDiscreteScheduler") {
        try EulerAncestralScheduler(configuration: $0, steps: $1)
    }
}
