/// Inputs a model cannot take, as one line (a programming or pairing error
/// upstream, reported rather than trapped on).
public enum ModelInputError: Error, CustomStringConvertible, Equatable {
    case unequalLengths([Int])
    case sequenceTooLong(Int, limit: Int)
    case tokenOutOfRange(Int32, vocabulary: Int)
    case badReplacement(sequence: Int, position: Int, values: Int)
    case missingAddedConditions

    public var description: String {
        switch self {
        case let .unequalLengths(lengths):
            "text encoder: the sequences of one batch must be equally long (got \(lengths))"
        case let .sequenceTooLong(length, limit):
            "text encoder: \(length) tokens in one sequence; the model has \(limit) positions"
        case let .tokenOutOfRange(id, vocabulary):
            "text encoder: token id \(id) is outside the model's vocabulary of \(vocabulary) (a tokenizer of another model?)"
        case let .badReplacement(sequence, position, values):
            "text encoder: \(values) embedding values at position \(position) of sequence \(sequence) do not fit the batch"
        case .missingAddedConditions:
            "UNet: this model takes a pooled text embedding and size conditioning (SDXL), and none came with the prompt"
        }
    }
}
