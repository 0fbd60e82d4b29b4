/// What a CPU product does to each worker's block of C right after making
/// it, while the block is in that worker's cache: the activation, then the
/// residual added. As separate ops the result went out to memory and came
/// back (BERT's residual adds, 3.2% of a 1 × 128 forward pass as their own
/// pass); the rounding is theirs, op by op.
struct ProductEpilogue {
    var activation: Activation? = nil
    /// Laid out as C (the same row stride), added after the activation.
    var residual: UnsafePointer<Float>? = nil

    var isEmpty: Bool { activation == nil && residual == nil }

    /// The same for a C that starts `columns` floats further on.
    func offset(by columns: Int) -> ProductEpilogue {
        ProductEpilogue(activation: activation, residual: residual.map { $0 + columns })
    }
}
