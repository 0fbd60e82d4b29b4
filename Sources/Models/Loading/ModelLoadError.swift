/// Why a checkpoint cannot be used, as one line naming the offending key.
public enum ModelLoadError: Error, CustomStringConvertible, Equatable {
    case missingTensor(key: String, expectedShape: [Int], source: String)
    case shapeMismatch(key: String, expected: [Int], found: [Int], source: String)
    case unsupportedDType(key: String, dtype: String, source: String)
    case invalidConfiguration(String)
    case unrecognisedCheckpoint(String)

    public var description: String {
        switch self {
        case let .missingTensor(key, shape, source):
            "\(source): missing tensor '\(key)' (expected shape \(shape)); is this a complete Stable Diffusion 1.x / BERT checkpoint?"
        case let .shapeMismatch(key, expected, found, source):
            "\(source): tensor '\(key)' has shape \(found), expected \(expected) (a checkpoint of another model or size?)"
        case let .unsupportedDType(key, dtype, source):
            "\(source): tensor '\(key)' has dtype \(dtype); sdgen reads F32, F16 and BF16"
        case let .invalidConfiguration(message):
            message
        case let .unrecognisedCheckpoint(message):
            message
        }
    }
}
