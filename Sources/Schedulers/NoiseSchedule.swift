import Foundation

/// The training noise schedule: betas and the cumulative products of
/// alpha = 1 - beta over the training timesteps.
///
/// diffusers computes these with torch in float32 on the CPU, and every
/// scheduler's arithmetic starts from them, so they are reproduced bit for
/// bit: `torch.linspace` (an FMA per element, from whichever end is nearer),
/// squaring and `1 - beta` in float32, and `torch.cumprod`, which on the CPU
/// accumulates in double and rounds each partial product to float.
public struct NoiseSchedule: Sendable, Equatable {
    public let betas: [Float]
    /// ᾱ_t for t in 0..<numTrainTimesteps.
    public let alphasCumprod: [Float]

    public init(configuration: SchedulerConfiguration) throws {
        let n = configuration.numTrainTimesteps
        guard n >= 2 else {
            throw SchedulerError.invalid("num_train_timesteps must be at least 2, got \(n)")
        }
        let betas: [Float]
        if let trained = configuration.trainedBetas {
            guard trained.count == n else {
                throw SchedulerError.invalid("trained_betas has \(trained.count) values, num_train_timesteps is \(n)")
            }
            betas = trained.map { Float($0) }
        } else {
            switch configuration.betaSchedule {
            case .linear:
                betas = Self.torchLinspace(Float(configuration.betaStart), Float(configuration.betaEnd), count: n)
            case .scaledLinear:
                // Python's beta ** 0.5 in double, then rounded to float by torch.
                let start = Float(pow(configuration.betaStart, 0.5))
                let end = Float(pow(configuration.betaEnd, 0.5))
                betas = Self.torchLinspace(start, end, count: n).map { $0 * $0 }
            case .squaredcosCapV2:
                betas = Self.cosineBetas(count: n)
            }
        }
        self.betas = betas
        var cumulative = [Float](repeating: 0, count: n)
        var product = 1.0
        for t in 0..<n {
            product *= Double(1 - betas[t])
            cumulative[t] = Float(product)
        }
        alphasCumprod = cumulative
    }

    /// sqrt((1 - ᾱ_t) / ᾱ_t) for every training timestep, in float32 as
    /// diffusers' `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5`: the
    /// table the sigma-based schedulers interpolate.
    public var trainingSigmas: [Float] {
        alphasCumprod.map { ((1 - $0) / $0).squareRoot() }
    }

    /// `torch.linspace(start, end, count, dtype=torch.float32)` on the CPU:
    /// the first half counts up from `start`, the second half down from `end`,
    /// each element one fused multiply-add.
    static func torchLinspace(_ start: Float, _ end: Float, count: Int) -> [Float] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (end - start) / Float(count - 1)
        let halfway = count / 2
        return (0..<count).map { i in
            i < halfway
                ? start.addingProduct(step, Float(i))
                : end.addingProduct(-step, Float(count - 1 - i))
        }
    }

    /// diffusers' `betas_for_alpha_bar` with the cosine transform (Nichol &
    /// Dhariwal 2021), in Python doubles, then stored as float32.
    static func cosineBetas(count: Int, maxBeta: Double = 0.999) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<count).map { i in
            let t1 = Double(i) / Double(count)
            let t2 = Double(i + 1) / Double(count)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), maxBeta))
        }
    }
}
