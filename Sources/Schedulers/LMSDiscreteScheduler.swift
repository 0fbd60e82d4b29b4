/// The linear multistep method of k-diffusion (`lms`, `lms-karras`), as
/// diffusers' `LMSDiscreteScheduler` with its default order 4: the next sample
/// is x + Σ_j c_j d_j over the last (up to four) slopes d_j = (x - x₀)/σ,
/// where c_j integrates the Lagrange basis polynomial of node j over
/// [σ_i, σ_{i+1}].
///
/// diffusers integrates with `scipy.integrate.quad` (adaptive, relative
/// tolerance 1e-4, on a float32 integrand). The integrand is a polynomial of
/// degree order - 1 ≤ 3 in σ, so a Gauss-Legendre rule integrates it exactly
/// here, in double: the coefficients differ from diffusers' only by quad's
/// rounding noise (~1e-7 relative).
public struct LMSDiscreteScheduler: SigmaScheduler {
    public static let maxOrder = 4

    private(set) var schedule: SigmaSchedule
    /// The most recent slopes, oldest first.
    private var derivatives: [[Float]] = []

    public init(configuration: SchedulerConfiguration = .init(), steps: Int) throws {
        schedule = try SigmaSchedule(configuration: configuration, steps: steps, karras: configuration.useKarrasSigmas)
    }

    public mutating func step<Source: RandomSource>(
        modelOutput: [Float], step: Int, sample: [Float], randomSource: inout Source
    ) -> [Float] {
        schedule.advance(to: step, scheduler: "lms")
        let sigma = sigmas[step]
        let denoise = schedule.denoiser(sigma: sigma)
        derivatives.append(Elementwise.map(sample, modelOutput) { s, m in (s - denoise(s, m)) / sigma })
        if derivatives.count > Self.maxOrder { derivatives.removeFirst() }

        // As diffusers: the order follows the step index; zip() then pairs the
        // coefficients with the slopes actually kept, newest first.
        let order = min(step + 1, Self.maxOrder)
        let coefficients = (0..<order).map { Float(coefficient(order: order, step: step, node: $0)) }

        // prev = sample + ((c₀ d_newest + c₁ d_prev) + …), in diffusers' order.
        var sum = [Float](repeating: 0, count: sample.count)
        for (c, d) in zip(coefficients, derivatives.reversed()) {
            sum.withUnsafeMutableBufferPointer { sum in
                d.withUnsafeBufferPointer { d in
                    for i in 0..<sum.count { sum[i] = sum[i] + c * d[i] }
                }
            }
        }
        return Elementwise.map(sample, sum) { $0 + $1 }
    }

    /// The weight of the slope from `node` steps back in an `order`-step
    /// update at `step`:
    /// ∫_{σ_step}^{σ_step+1} Π_{k ≠ node} (τ - σ_{step-k}) / (σ_{step-node} - σ_{step-k}) dτ.
    public func coefficient(order: Int, step: Int, node: Int) -> Double {
        let nodeSigma = Double(sigmas[step - node])
        func basis(_ tau: Double) -> Double {
            var product = 1.0
            for k in 0..<order where k != node {
                let other = Double(sigmas[step - k])
                product *= (tau - other) / (nodeSigma - other)
            }
            return product
        }
        return GaussLegendre.integrate(basis, from: Double(sigmas[step]), to: Double(sigmas[step + 1]))
    }
}

/// Four-point Gauss-Legendre quadrature: exact for polynomials of degree ≤ 7.
enum GaussLegendre {
    private static let nodes: [(x: Double, weight: Double)] = [
        (-0.861_136_311_594_052_6, 0.347_854_845_137_453_9),
        (-0.339_981_043_584_856_3, 0.652_145_154_862_546_1),
        (0.339_981_043_584_856_3, 0.652_145_154_862_546_1),
        (0.861_136_311_594_052_6, 0.347_854_845_137_453_9),
    ]

    static func integrate(_ f: (Double) -> Double, from a: Double, to b: Double) -> Double {
        let half = (b - a) / 2, middle = (a + b) / 2
        return half * nodes.reduce(0) { $0 + $1.weight * f(middle + half * $1.x) }
    }
}

extension SchedulerKind {
    public static let lms = SchedulerKind(name: "lms", a1111Name: "LMS", diffusersClassName: "LMSDiscreteScheduler") {
        try LMSDiscreteScheduler(configuration: $0, steps: $1)
    }
    public static let lmsKarras = SchedulerKind(name: "lms-karras", a1111Name: "LMS Karras",
                                                diffusersClassName: "LMSDiscreteScheduler", usesKarrasSigmas: true) {
        try LMSDiscreteScheduler(configuration: $0, steps: $1)
    }
}
