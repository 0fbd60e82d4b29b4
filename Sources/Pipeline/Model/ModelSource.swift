import Foundation

/// Where a model bundle comes from.
public enum ModelSource: Sendable, Equatable {
    /// A diffusers folder or a single-file `.safetensors` checkpoint.
    case path(URL)
    /// Stable Diffusion 1.5's architecture with random weights (noise images, real timings).
    case randomStableDiffusion15
}
