/// The schedulers sdgen offers, by their command-line names.
public enum SchedulerKind: String, CaseIterable, Sendable {
    /// PNDM/PLMS with skip_prk_steps: Stable Diffusion 1.5's default.
    case pndm
    /// DDIM, eta 0.
    case ddim
    case euler
    /// Euler ancestral: stochastic, draws noise every step.
    case eulerAncestral = "euler-a"
    case lms
    /// Two model evaluations per step (see `HeunDiscreteScheduler`).
    case heun
    /// DPM-Solver++(2M).
    case dpmSolverMultistep = "dpm++2m"
    case eulerKarras = "euler-karras"
    case lmsKarras = "lms-karras"
    case dpmSolverMultistepKarras = "dpm++2m-karras"

    /// Whether the name asks for Karras sigmas (on top of whatever the
    /// configuration says, as diffusers' `use_karras_sigmas=True` would).
    public var usesKarrasSigmas: Bool {
        switch self {
        case .eulerKarras, .lmsKarras, .dpmSolverMultistepKarras: return true
        default: return false
        }
    }
}

/// Builds the scheduler `kind` for `steps` sampling steps from a model's
/// scheduler configuration (SD 1.5's when none is given). Note that
/// `timesteps.count` of the result is the number of model evaluations, which
/// differs from `steps` for Heun and PNDM.
public func makeScheduler(
    _ kind: SchedulerKind, configuration: SchedulerConfiguration = .init(), steps: Int
) throws -> any Scheduler {
    var configuration = configuration
    if kind.usesKarrasSigmas { configuration.useKarrasSigmas = true }
    switch kind {
    case .pndm: return try PNDMScheduler(configuration: configuration, steps: steps)
    case .ddim: return try DDIMScheduler(configuration: configuration, steps: steps)
    case .euler, .eulerKarras: return try EulerDiscreteScheduler(configuration: configuration, steps: steps)
    case .eulerAncestral: return try EulerAncestralScheduler(configuration: configuration, steps: steps)
    case .lms, .lmsKarras: return try LMSDiscreteScheduler(configuration: configuration, steps: steps)
    case .heun: return try HeunDiscreteScheduler(configuration: configuration, steps: steps)
    case .dpmSolverMultistep, .dpmSolverMultistepKarras:
        return try DPMSolverMultistepScheduler(configuration: configuration, steps: steps)
    }
}
