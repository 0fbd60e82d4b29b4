/// A sampler users can ask for: its command-line name, the name A1111
/// writes in a PNG's parameters, the diffusers scheduler class it
/// reproduces, and how to build it. Each scheduler's file declares its kinds
/// (`extension SchedulerKind { static let … }`) and `allCases` lists them:
/// adding a scheduler is that file and one line below.
public struct SchedulerKind: Sendable, Hashable, CustomStringConvertible {
    /// The command-line name (`--scheduler euler-a`).
    public let rawValue: String
    /// The sampler name A1111 writes ("Euler a", "DPM++ 2M Karras"), so its tools read our PNGs.
    public let a1111Name: String
    /// The diffusers class whose `scheduler_config.json` `_class_name` selects this kind by default.
    public let diffusersClassName: String
    /// Whether the name asks for Karras sigmas (on top of whatever the
    /// configuration says, as diffusers' `use_karras_sigmas=True` would).
    public let usesKarrasSigmas: Bool
    /// The η the sampler takes when none is given; nil: it has none.
    public let defaultEta: Double?
    /// Whether `timestep_spacing` applies (not to LCM and TCD, whose
    /// timesteps come from their distillation schedule).
    public let choosesTimestepSpacing: Bool
    private let build: @Sendable (SchedulerConfiguration, Int) throws -> any Scheduler

    public init(name: String, a1111Name: String, diffusersClassName: String, usesKarrasSigmas: Bool = false,
                defaultEta: Double? = nil, choosesTimestepSpacing: Bool = true,
                build: @escaping @Sendable (SchedulerConfiguration, Int) throws -> any Scheduler) {
        rawValue = name
        self.a1111Name = a1111Name
        self.diffusersClassName = diffusersClassName
        self.usesKarrasSigmas = usesKarrasSigmas
        self.defaultEta = defaultEta
        self.choosesTimestepSpacing = choosesTimestepSpacing
        self.build = build
    }

    /// The registry: every kind sdgen offers, in the order `--help` lists them.
    public static let allCases: [SchedulerKind] = [
        .pndm, .ddim, .euler, .eulerAncestral, .lms, .heun, .dpmSolverMultistep,
        .eulerKarras, .lmsKarras, .dpmSolverMultistepKarras, .lcm, .tcd,
    ]

    /// The kind with this command-line name.
    public init?(rawValue: String) {
        guard let kind = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = kind
    }

    /// The kind a model's `scheduler_config.json` names by its `_class_name`
    /// (diffusers pipelines run the scheduler saved with the model), if sdgen has it.
    public init?(diffusersClassName className: String, configuration: SchedulerConfiguration) {
        guard let kind = Self.allCases.first(where: {
                  $0.diffusersClassName == className && $0.usesKarrasSigmas == configuration.useKarrasSigmas
              }) ?? Self.allCases.first(where: { $0.diffusersClassName == className })
        else { return nil }
        self = kind
    }

    /// Builds this scheduler for `steps` sampling steps. Note that
    /// `timesteps.count` of the result is the number of model evaluations,
    /// which differs from `steps` for Heun and PNDM.
    public func make(configuration: SchedulerConfiguration = .init(), steps: Int) throws -> any Scheduler {
        var configuration = configuration
        if usesKarrasSigmas { configuration.useKarrasSigmas = true }
        guard configuration.eta == nil || defaultEta != nil else {
            throw SchedulerError.invalid("the \(rawValue) sampler takes no eta (only \(Self.allCases.filter { $0.defaultEta != nil }.map(\.rawValue).joined(separator: " and ")) do)")
        }
        configuration.eta = configuration.eta ?? defaultEta
        return try build(configuration, steps)
    }

    public var description: String { rawValue }

    public static func == (a: SchedulerKind, b: SchedulerKind) -> Bool { a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}

/// `kind.make(configuration:steps:)`, for call sites that read better with a function.
public func makeScheduler(
    _ kind: SchedulerKind, configuration: SchedulerConfiguration = .init(), steps: Int
) throws -> any Scheduler {
    try kind.make(configuration: configuration, steps: steps)
}
