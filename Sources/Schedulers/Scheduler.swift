/// A diffusion sampler: turns the model's prediction at one timestep into the
/// latents for the next, reproducing the diffusers scheduler of the same name
/// (same timesteps, same sigmas, same float32 arithmetic).
///
/// The sampling loop a pipeline runs:
///
/// ```swift
/// var scheduler = try makeScheduler(.eulerAncestral, configuration: config, steps: 30)
/// var random = TorchRandomSource(seed: seed)
/// var latents = random.normal(count: n).map { $0 * scheduler.initNoiseSigma }
/// for i in scheduler.timesteps.indices {
///     let input = scheduler.scaleModelInput(latents, step: i)
///     let output = model(input, scheduler.timesteps[i])     // ε (or v) prediction, guidance applied
///     latents = scheduler.step(modelOutput: output, step: i, sample: latents, randomSource: &random)
/// }
/// ```
///
/// `timesteps` has one entry per *model evaluation*, which is not always one per
/// requested step: Heun evaluates the model twice per step (2N-1 entries, the
/// intermediate timesteps repeated, as in diffusers), and PNDM's PLMS warm-up
/// evaluates its first timestep twice (N+1 entries). A pipeline therefore loops
/// over `timesteps.indices`, never over `0..<steps`.
///
/// Schedulers are value types holding their multistep history; calls to
/// `step` must come in increasing `step` order (the first call may start at any
/// index, e.g. for img2img). Samples are flat `[Float]` arrays (NCHW order,
/// any size); the arithmetic is element-wise, so layout does not matter as
/// long as model output and sample share it.
public protocol Scheduler: Sendable {
    /// The timestep to give the model at each model evaluation (diffusers'
    /// `scheduler.timesteps`, as float32; integral for DDIM, PNDM and DPM-Solver).
    var timesteps: [Float] { get }

    /// The noise level of each model evaluation followed by the final one (0),
    /// for the sigma-based schedulers (diffusers' `scheduler.sigmas`); empty
    /// for DDIM and PNDM, which work on alpha products instead.
    var sigmas: [Float] { get }

    /// The standard deviation of the initial noise: multiply unit-normal
    /// latents by it before the first step.
    var initNoiseSigma: Float { get }

    /// Whether `step` draws fresh noise from its random source (ancestral
    /// samplers); deterministic schedulers never touch it.
    var usesRandomNoise: Bool { get }

    /// Model evaluations per step: 2 for Heun (whose corrections evaluate
    /// again), else 1. Image-to-image starts at evaluation t_start × this, as
    /// diffusers slices `timesteps[t_start * scheduler.order:]`.
    var evaluationsPerStep: Int { get }

    /// `original` noised to the level of evaluation `step`, as diffusers'
    /// `add_noise` with the scheduler's begin (or current) index at `step`:
    /// image-to-image's starting latents, and inpainting's known region
    /// before each later evaluation. Element-wise in float32.
    func addNoise(_ original: [Float], noise: [Float], step: Int) -> [Float]

    /// The model input for evaluation `step` (sigma-based schedulers divide by
    /// sqrt(sigma² + 1); the identity for DDIM, PNDM and DPM-Solver).
    func scaleModelInput(_ sample: [Float], step: Int) -> [Float]

    /// Advances `sample` given the model's output at evaluation `step`.
    /// Ancestral schedulers draw their noise from `randomSource`, which should
    /// be the generator the initial latents came from (as diffusers passes one
    /// `generator` to both).
    mutating func step<Source: RandomSource>(
        modelOutput: [Float], step: Int, sample: [Float], randomSource: inout Source
    ) -> [Float]
}

extension Scheduler {
    public var usesRandomNoise: Bool { false }
    public var evaluationsPerStep: Int { 1 }

    public func scaleModelInput(_ sample: [Float], step: Int) -> [Float] { sample }

    /// `step` for deterministic schedulers, which need no random source.
    public mutating func step(modelOutput: [Float], step: Int, sample: [Float]) -> [Float] {
        precondition(!usesRandomNoise, "\(Self.self) draws noise: pass a random source to step")
        var unused = UnusedRandomSource()
        return self.step(modelOutput: modelOutput, step: step, sample: sample, randomSource: &unused)
    }
}

/// Stands in for a random source where none may be used.
private struct UnusedRandomSource: RandomSource {
    mutating func normal(count: Int) -> [Float] {
        preconditionFailure("a deterministic scheduler asked for noise")
    }
}

/// Checks that steps come in order: the first may be any index (img2img
/// starts part-way), each later one the next index. Multistep history is only
/// meaningful under that order.
struct StepOrder: Sendable {
    private var next: Int?

    mutating func advance(to step: Int, count: Int, scheduler: String) {
        precondition(step >= 0 && step < count, "\(scheduler): step \(step) outside 0..<\(count)")
        if let next {
            precondition(step == next, "\(scheduler): expected step \(next), got \(step)")
        }
        next = step + 1
    }
}
