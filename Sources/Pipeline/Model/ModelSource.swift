import Foundation

/// Where a model bundle comes from.
public enum ModelSource: Sendable, Equatable {
    /// A diffusers folder or a single-file `.safetensors` checkpoint.
    case path(URL)
    /// A known architecture with random weights (noise images, real timings and memory).
    case random(BenchmarkModel)
}
