/// Why a `parameters` text could not be read as generation parameters.
public enum GenerationParametersError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text has no `Key: value, …` line (A1111 wants at least three fields on the last line).
    case missingParameterLine
    case missingField(String)
    case invalidValue(field: String, value: String)

    public var description: String {
        switch self {
        case .missingParameterLine:
            return "the parameters text has no 'Steps: …, Sampler: …' line"
        case .missingField(let field):
            return "the parameters text has no '\(field)' field"
        case .invalidValue(let field, let value):
            return "the parameters text has an invalid '\(field)' value: \(value)"
        }
    }
}
