/// Inputs a model cannot take, as one line (a programming or pairing error
/// upstream, reported rather than trapped on).
public enum ModelInputError: Error, CustomStringConvertible, Equatable {
    case unequalLengths([Int])
    case sequenceTooLong(Int, limit: Int)
    case tokenOutOfRange(Int32, vocabulary: Int)
    case tokenTypeOutOfRange(Int32, types: Int)
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
        case let .tokenTypeOutOfRange(id, types):
            "text encoder: token type \(id) is outside the model's \(types) token types"
        case let .badReplacement(sequence, position, values):
            "text encoder: \(values) embedding values at position \(position) of sequence \(sequence) do not fit the batch"
        case .missingAddedConditions:
            "UNet: this model takes a pooled text embedding and size conditioning (SDXL), and none came with the prompt"
        }
    }
}

extension ModelInputError {
    /// What a text encoder's token batch must be before its embeddings are
    /// looked up: rows of one length within the model's positions, ids within
    /// its vocabulary (the lookup itself only traps).
    static func check(_ ids: [[Int32]], positions: Int, vocabulary: Int) throws(ModelInputError) {
        let length = ids.first?.count ?? 0
        guard ids.allSatisfy({ $0.count == length }) else { throw .unequalLengths(ids.map(\.count)) }
        guard length <= positions else { throw .sequenceTooLong(length, limit: positions) }
        if let bad = ids.lazy.joined().first(where: { !(0..<Int32(vocabulary)).contains($0) }) {
            throw .tokenOutOfRange(bad, vocabulary: vocabulary)
        }
    }
}
