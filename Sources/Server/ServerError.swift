/// A server that cannot start: a bad flag, an unusable folder, a port taken.
public enum ServerError: Error, CustomStringConvertible, Equatable {
    case configuration(String)

    public var description: String {
        switch self {
        case .configuration(let message): message
        }
    }
}
