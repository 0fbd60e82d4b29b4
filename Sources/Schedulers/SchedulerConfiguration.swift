import Foundation

/// The noise schedule and sampler options of a model, as diffusers stores them
/// in `scheduler/scheduler_config.json` (the coding keys are those names).
///
/// A key missing from a file takes Stable Diffusion 1.5's value, which is
/// what that file says: SD 1.5's file has every key below except
/// `timestep_spacing`, `prediction_type` and `use_karras_sigmas`. For
/// `timestep_spacing` a missing key means "this scheduler's diffusers default"
/// (`leading` for PNDM and DDIM, `linspace` for the sigma-based schedulers):
/// that is what `XScheduler.from_config(sd15.scheduler.config)` gives in
/// diffusers, so sdgen's `euler` matches diffusers' Euler on SD 1.5.
///
/// Keys sdgen does not read (`_class_name`, DPM-Solver's `solver_order` and
/// `algorithm_type`, which the scheduler kind fixes, ...) are ignored; values
/// it reads but does not implement are rejected when decoding.
public struct SchedulerConfiguration: Codable, Sendable, Equatable {
    public enum BetaSchedule: String, Codable, Sendable, CaseIterable {
        case linear
        case scaledLinear = "scaled_linear"
        case squaredcosCapV2 = "squaredcos_cap_v2"
    }

    /// What the model predicts.
    public enum PredictionType: String, Codable, Sendable, CaseIterable {
        case epsilon
        case vPrediction = "v_prediction"
        /// The clean sample x₀ itself.
        case sample

        /// The clean sample x₀ and the noise ε a model output stands for at a
        /// timestep with √ᾱ and √(1 − ᾱ), as the DDPM-form samplers (DDIM,
        /// LCM, TCD) read it; before any clipping of x₀.
        @inline(__always)
        func decompose(sample x: Float, output m: Float, sqrtAlpha: Float, sqrtBeta: Float) -> (x0: Float, epsilon: Float) {
            switch self {
            case .epsilon: ((x - sqrtBeta * m) / sqrtAlpha, m)
            case .vPrediction: (sqrtAlpha * x - sqrtBeta * m, sqrtAlpha * m + sqrtBeta * x)
            case .sample: (m, (x - sqrtAlpha * m) / sqrtBeta)
            }
        }
    }

    /// How inference timesteps are picked from the training ones (Table 2 of
    /// "Common Diffusion Noise Schedules and Sample Steps are Flawed").
    public enum TimestepSpacing: String, Codable, Sendable, CaseIterable {
        case linspace, leading, trailing
    }

    public var numTrainTimesteps: Int = 1000
    public var betaStart: Double = 0.00085
    public var betaEnd: Double = 0.012
    public var betaSchedule: BetaSchedule = .scaledLinear
    /// Explicit betas, overriding `betaSchedule`, `betaStart` and `betaEnd`.
    public var trainedBetas: [Double]? = nil
    /// Added to `leading` timesteps (SD 1.5: 1, so its last timestep is 1).
    public var stepsOffset: Int = 1
    /// DDIM/PNDM: whether the alpha product "before" timestep 0 is 1 or ᾱ₀.
    public var setAlphaToOne: Bool = false
    /// PNDM: skip the Runge-Kutta warm-up (only `true` is implemented).
    public var skipPrkSteps: Bool = true
    /// DDIM, Heun: clamp the predicted clean sample to ±`clipSampleRange`.
    public var clipSample: Bool = false
    public var clipSampleRange: Double = 1.0
    public var predictionType: PredictionType = .epsilon
    /// `nil`: the scheduler's own diffusers default (see above).
    public var timestepSpacing: TimestepSpacing? = nil
    /// Euler, LMS, Heun, DPM-Solver: Karras et al. (2022) sigmas.
    public var useKarrasSigmas: Bool = false
    /// LCM: the schedule its model was distilled on, which inference steps are picked from.
    public var originalInferenceSteps: Int = 50
    /// LCM: the factor on the timestep in its boundary-condition scalings.
    public var timestepScaling: Double = 10
    /// diffusers' `rescale_betas_zero_snr`: the schedule rescaled to zero signal at the last timestep
    /// (for models trained so, with v-prediction and trailing spacing); see `NoiseSchedule.TerminalSNR`.
    public var rescaleBetasZeroSnr: Bool = false

    /// η of the samplers that take one — DDIM's noise share, TCD's γ — from 0
    /// (deterministic) to 1; nil: the sampler's `SchedulerKind.defaultEta`.
    /// Never in a scheduler config: diffusers passes it to `step()`.
    public var eta: Double? = nil

    /// Stable Diffusion 1.5's configuration.
    public init() {}

    public init(
        numTrainTimesteps: Int = 1000, betaStart: Double = 0.00085, betaEnd: Double = 0.012,
        betaSchedule: BetaSchedule = .scaledLinear, trainedBetas: [Double]? = nil,
        stepsOffset: Int = 1, setAlphaToOne: Bool = false, skipPrkSteps: Bool = true,
        clipSample: Bool = false, clipSampleRange: Double = 1.0,
        predictionType: PredictionType = .epsilon, timestepSpacing: TimestepSpacing? = nil,
        useKarrasSigmas: Bool = false
    ) {
        self.numTrainTimesteps = numTrainTimesteps
        self.betaStart = betaStart
        self.betaEnd = betaEnd
        self.betaSchedule = betaSchedule
        self.trainedBetas = trainedBetas
        self.stepsOffset = stepsOffset
        self.setAlphaToOne = setAlphaToOne
        self.skipPrkSteps = skipPrkSteps
        self.clipSample = clipSample
        self.clipSampleRange = clipSampleRange
        self.predictionType = predictionType
        self.timestepSpacing = timestepSpacing
        self.useKarrasSigmas = useKarrasSigmas
    }

    /// Reads a diffusers `scheduler_config.json`.
    public static func load(from url: URL) throws -> SchedulerConfiguration {
        try JSONDecoder().decode(SchedulerConfiguration.self, from: Data(contentsOf: url))
    }

    enum CodingKeys: String, CodingKey {
        case numTrainTimesteps = "num_train_timesteps"
        case betaStart = "beta_start"
        case betaEnd = "beta_end"
        case betaSchedule = "beta_schedule"
        case trainedBetas = "trained_betas"
        case stepsOffset = "steps_offset"
        case setAlphaToOne = "set_alpha_to_one"
        case skipPrkSteps = "skip_prk_steps"
        case clipSample = "clip_sample"
        case clipSampleRange = "clip_sample_range"
        case predictionType = "prediction_type"
        case timestepSpacing = "timestep_spacing"
        case useKarrasSigmas = "use_karras_sigmas"
        case originalInferenceSteps = "original_inference_steps"
        case timestepScaling = "timestep_scaling"
        // Read only to refuse what would silently change the result.
        case rescaleBetasZeroSnr = "rescale_betas_zero_snr"
        case thresholding
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = SchedulerConfiguration()
        numTrainTimesteps = try c.decodeIfPresent(Int.self, forKey: .numTrainTimesteps) ?? defaults.numTrainTimesteps
        betaStart = try c.decodeIfPresent(Double.self, forKey: .betaStart) ?? defaults.betaStart
        betaEnd = try c.decodeIfPresent(Double.self, forKey: .betaEnd) ?? defaults.betaEnd
        betaSchedule = try Self.decodeEnum(c, .betaSchedule) ?? defaults.betaSchedule
        trainedBetas = try c.decodeIfPresent([Double].self, forKey: .trainedBetas)
        stepsOffset = try c.decodeIfPresent(Int.self, forKey: .stepsOffset) ?? defaults.stepsOffset
        setAlphaToOne = try c.decodeIfPresent(Bool.self, forKey: .setAlphaToOne) ?? defaults.setAlphaToOne
        skipPrkSteps = try c.decodeIfPresent(Bool.self, forKey: .skipPrkSteps) ?? defaults.skipPrkSteps
        clipSample = try c.decodeIfPresent(Bool.self, forKey: .clipSample) ?? defaults.clipSample
        clipSampleRange = try c.decodeIfPresent(Double.self, forKey: .clipSampleRange) ?? defaults.clipSampleRange
        predictionType = try Self.decodeEnum(c, .predictionType) ?? defaults.predictionType
        timestepSpacing = try Self.decodeEnum(c, .timestepSpacing)
        useKarrasSigmas = try c.decodeIfPresent(Bool.self, forKey: .useKarrasSigmas) ?? defaults.useKarrasSigmas
        originalInferenceSteps = try c.decodeIfPresent(Int.self, forKey: .originalInferenceSteps)
            ?? defaults.originalInferenceSteps
        timestepScaling = try c.decodeIfPresent(Double.self, forKey: .timestepScaling) ?? defaults.timestepScaling
        rescaleBetasZeroSnr = try c.decodeIfPresent(Bool.self, forKey: .rescaleBetasZeroSnr) ?? defaults.rescaleBetasZeroSnr
        if try c.decodeIfPresent(Bool.self, forKey: .thresholding) == true {
            throw SchedulerError.unsupported(key: CodingKeys.thresholding.rawValue, value: "true")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(numTrainTimesteps, forKey: .numTrainTimesteps)
        try c.encode(betaStart, forKey: .betaStart)
        try c.encode(betaEnd, forKey: .betaEnd)
        try c.encode(betaSchedule, forKey: .betaSchedule)
        try c.encodeIfPresent(trainedBetas, forKey: .trainedBetas)
        try c.encode(stepsOffset, forKey: .stepsOffset)
        try c.encode(setAlphaToOne, forKey: .setAlphaToOne)
        try c.encode(skipPrkSteps, forKey: .skipPrkSteps)
        try c.encode(clipSample, forKey: .clipSample)
        try c.encode(clipSampleRange, forKey: .clipSampleRange)
        try c.encode(predictionType, forKey: .predictionType)
        try c.encodeIfPresent(timestepSpacing, forKey: .timestepSpacing)
        try c.encode(useKarrasSigmas, forKey: .useKarrasSigmas)
        try c.encode(originalInferenceSteps, forKey: .originalInferenceSteps)
        try c.encode(timestepScaling, forKey: .timestepScaling)
        try c.encode(rescaleBetasZeroSnr, forKey: .rescaleBetasZeroSnr)
    }

    /// An unknown enum value is a configuration sdgen cannot honour, not a
    /// malformed file: report it by name.
    private static func decodeEnum<E: RawRepresentable<String>>(
        _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys
    ) throws -> E? {
        guard let raw = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let value = E(rawValue: raw) else {
            throw SchedulerError.unsupported(key: key.rawValue, value: raw)
        }
        return value
    }

    /// Checks what every scheduler needs; called by the schedulers' initialisers.
    func validate(steps: Int) throws {
        // Real models train on 1000; a corrupt file's millions would make every table that long.
        guard (2...100_000).contains(numTrainTimesteps) else {
            throw SchedulerError.invalid("num_train_timesteps must be in 2...100000, got \(numTrainTimesteps)")
        }
        guard steps >= 1, steps <= numTrainTimesteps else {
            throw SchedulerError.invalid("steps must be in 1...\(numTrainTimesteps), got \(steps)")
        }
        if let eta, !(0...1).contains(eta) {
            throw SchedulerError.invalid("eta must be between 0 and 1, got \(eta)")
        }
        if let trainedBetas, trainedBetas.count != numTrainTimesteps {
            throw SchedulerError.invalid(
                "trained_betas has \(trainedBetas.count) values, num_train_timesteps is \(numTrainTimesteps)")
        }
    }
}
