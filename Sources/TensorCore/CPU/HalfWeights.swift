/// Weights kept in f16 or bf16 (`weightDType(storedAs:shape:)`) are widened
/// to f32 right before the op that uses them, into a recycled buffer: the
/// kernels stay f32-only and a model holds half the bytes.
///
/// Widening costs one pass over the weight per use; measured on a UNet step
/// at 512² (1.7 GB of f16 weights) it is in docs/performance.md.
extension CPUBackend {
    func widened(_ weight: Tensor) -> Tensor {
        weight.dtype == .f32 ? weight : convert(weight, to: .f32)
    }
}
