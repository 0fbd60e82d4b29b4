/// A seeded stream of standard-normal float32 values.
///
/// `normal(count:)` returns what one `torch.randn(shape)` call with
/// `shape.product == count` returns for the generator the source imitates,
/// and advances the source the way that call advances the generator, so a
/// sequence of calls (initial latents, then per-step noise) reproduces the
/// same sequence of torch calls.
public protocol RandomSource: Sendable {
    mutating func normal(count: Int) -> [Float]
}

/// The random number generators sdgen can imitate (`--rng`).
public enum RandomSourceKind: String, CaseIterable, Sendable {
    /// torch's CPU generator (`torch.Generator().manual_seed(seed)`), as
    /// diffusers uses on the CPU: images match diffusers run on a CPU.
    case torch
    /// torch's CUDA generator (Philox4x32-10): images match diffusers and
    /// A1111 run on an NVIDIA GPU.
    case philox

    public func makeSource(seed: UInt64) -> any RandomSource {
        switch self {
        case .torch: return TorchRandomSource(seed: seed)
        case .philox: return PhiloxRandomSource(seed: seed)
        }
    }
}
