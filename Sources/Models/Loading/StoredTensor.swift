/// Where a checkpoint file keeps a tensor a model asks for: a whole tensor
/// under some name, or one block of rows of a fused tensor (OpenCLIP stores
/// the q, k and v projections stacked in one `in_proj_weight`; the model
/// asks for each), or a matrix stored transposed (OpenCLIP's `text_projection`).
/// Key maps (`CheckpointKeyMap`) return these.
public struct StoredTensor: Sendable, Equatable {
    public let name: String
    /// Block `part` of `parts` equal blocks of rows, or the whole tensor.
    public let rowBlock: RowBlock?
    /// Whether the file holds the matrix's transpose.
    public let isTransposed: Bool

    public struct RowBlock: Sendable, Equatable {
        public let part: Int
        public let parts: Int
    }

    public static func whole(_ name: String) -> StoredTensor { StoredTensor(name: name, rowBlock: nil, isTransposed: false) }

    /// Rows `part` of `parts` of the tensor `name`.
    public static func rows(_ part: Int, of parts: Int, in name: String) -> StoredTensor {
        StoredTensor(name: name, rowBlock: RowBlock(part: part, parts: parts), isTransposed: false)
    }

    /// The 2-D tensor `name`, transposed.
    public static func transposed(_ name: String) -> StoredTensor {
        StoredTensor(name: name, rowBlock: nil, isTransposed: true)
    }
}
