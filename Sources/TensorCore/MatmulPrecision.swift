/// The precision of a backend's matrix products (linear layers,
/// convolutions, attention). Everything else — norms, softmax, activations,
/// the scheduler — is f32 either way.
public enum MatmulPrecision: String, Sendable, CaseIterable, Codable {
    /// f32 operands, f32 accumulation: matches the reference to ~1e-6.
    case f32
    /// Operands rounded to bfloat16 (8 significant bits), products
    /// accumulated in f32: PyTorch's `set_float32_matmul_precision("medium")`.
    /// Twice the multiply-add rate on CPUs with AVX-512 BF16 (the CPU backend only).
    case bf16
    /// Operands rounded to f16 (11 significant bits), products accumulated in
    /// f32: a GPU's matrix units (VK_KHR_cooperative_matrix), the Vulkan
    /// backend's default where it has them (the GPU backend only).
    case f16
}
