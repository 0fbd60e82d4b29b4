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

    /// What a scheduler does with `rescale_betas_zero_snr` (each diffusers class its own way).
    public enum TerminalSNR: Sendable {
        /// The betas as configured (and what diffusers' Heun, LMS and PNDM do: they have no such option).
        case asConfigured
        /// Rescaled so the last timestep's signal is zero ("Common Diffusion Noise Schedules and Sample
        /// Steps are Flawed", Algorithm 1; DDIM, LCM).
        case rescaled
        /// Rescaled, then ᾱ_T raised to 2⁻²⁴ so the first sigma is finite (~4096; Euler, Euler a, DPM++).
        case rescaledWithFloor
    }

    /// - Parameter terminalSNR: how this scheduler applies the configuration's `rescale_betas_zero_snr`.
    public init(configuration: SchedulerConfiguration, terminalSNR: TerminalSNR = .asConfigured) throws {
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
        let rescales = configuration.rescaleBetasZeroSnr && terminalSNR != .asConfigured
        self.betas = rescales ? Self.rescaledToZeroTerminalSNR(betas) : betas
        var cumulative = Self.cumulativeProduct(self.betas.map { 1 - $0 })
        if rescales && terminalSNR == .rescaledWithFloor { cumulative[n - 1] = 0x1p-24 }
        alphasCumprod = cumulative
    }

    /// diffusers' DDPM-form `add_noise` at a training timestep whose ᾱ is
    /// `alphaProduct`: √ᾱ · original + √(1 − ᾱ) · noise, in float32 (DDIM,
    /// PNDM, LCM and TCD noise image-to-image latents so).
    static func noised(_ original: [Float], noise: [Float], alphaProduct: Float) -> [Float] {
        let sqrtAlpha = alphaProduct.squareRoot(), sqrtOneMinusAlpha = (1 - alphaProduct).squareRoot()
        return Elementwise.map(original, noise) { x, n in sqrtAlpha * x + sqrtOneMinusAlpha * n }
    }

    /// `torch.cumprod` on the CPU: accumulated in double, each partial product rounded to float.
    static func cumulativeProduct(_ values: [Float]) -> [Float] {
        var product = 1.0
        return values.map { value in
            product *= Double(value)
            return Float(product)
        }
    }

    /// diffusers' `rescale_zero_terminal_snr`, in float32 as torch computes it: √ᾱ shifted so its last
    /// value is 0 and scaled so its first is unchanged, then turned back into betas.
    static func rescaledToZeroTerminalSNR(_ betas: [Float]) -> [Float] {
        var root = cumulativeProduct(betas.map { 1 - $0 }).map { $0.squareRoot() }
        let first = root[0], last = root[root.count - 1]
        let scale = first / (first - last)
        for i in root.indices { root[i] = (root[i] - last) * scale }
        let alphaBar = root.map { $0 * $0 }
        var alphas = [alphaBar[0]]
        for i in 1..<alphaBar.count { alphas.append(alphaBar[i] / alphaBar[i - 1]) }
        return alphas.map { 1 - $0 }
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
