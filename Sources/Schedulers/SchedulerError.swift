/// Why a scheduler cannot be built from a configuration.
public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    /// A scheduler_config.json value sdgen reads but does not implement.
    case unsupported(key: String, value: String)
    /// A value outside the range the schedule can use.
    case invalid(String)

    public var description: String { "scheduler configuration: \(reason)" }

    /// What is wrong, without naming the configuration.
    public var reason: String {
        switch self {
        case .unsupported(let key, let value): "\(key) = \(value) is not supported"
        case .invalid(let message): message
        }
    }
}
