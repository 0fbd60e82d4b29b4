/// Euler's method on the probability-flow ODE in sigma (Karras et al. 2022,
/// Algorithm 2 without churn), as diffusers' `EulerDiscreteScheduler`:
/// `euler`, and `euler-karras` with Karras sigmas.
public struct EulerDiscreteScheduler: SigmaScheduler {
    private(set) var schedule: SigmaSchedule

    public init(configuration: SchedulerConfiguration = .init(), steps: Int) throws {
        schedule = try SigmaSchedule(configuration: configuration, steps: steps, karras: configuration.useKarrasSigmas,
                                     terminalSNR: .rescaledWithFloor)
    }

    public mutating func step<Source: RandomSource>(
        modelOutput: [Float], step: Int, sample: [Float], randomSource: inout Source
    ) -> [Float] {
        schedule.advance(to: step, scheduler: "euler")
        let sigma = sigmas[step]
        let dt = sigmas[step + 1] - sigma
        let denoise = schedule.denoiser(sigma: sigma)
        return Elementwise.map(sample, modelOutput) { s, m in
            let derivative = (s - denoise(s, m)) / sigma
            return s + derivative * dt
        }
    }
}

extension SchedulerKind {
    public static let euler = SchedulerKind(name: "euler", a1111Name: "Euler",
                                            diffusersClassName: "EulerDiscreteScheduler") {
        try EulerDiscreteScheduler(configuration: $0, steps: $1)
    }
    public static let eulerKarras = SchedulerKind(name: "euler-karras", a1111Name: "Euler Karras",
                                                  diffusersClassName: "EulerDiscreteScheduler", usesKarrasSigmas: true) {
        try EulerDiscreteScheduler(configuration: $0, steps: $1)
    }
}
