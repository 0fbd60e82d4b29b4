import TensorCore

/// The sinusoidal timestep features and the two-layer MLP that turns them
/// into the embedding every ResNet block receives.
public struct TimestepEmbedding: Sendable {
    public let linear1: Linear
    public let linear2: Linear
    public let channels: Int
    public let flipSinToCos: Bool
    public let frequencyShift: Float

    public init(_ w: Weights, channels: Int, embedding: Int, flipSinToCos: Bool, frequencyShift: Float) throws {
        linear1 = try Linear(w("linear_1"), input: channels, output: embedding)
        linear2 = try Linear(w("linear_2"), input: embedding, output: embedding)
        self.channels = channels
        self.flipSinToCos = flipSinToCos
        self.frequencyShift = frequencyShift
    }

    /// One timestep per batch element; result [N, embedding].
    public func callAsFunction(_ timesteps: [Float], backend: any Backend) -> Tensor {
        let features = backend.timestepEmbedding(timesteps, dim: channels, flipSinToCos: flipSinToCos,
                                                 downscaleFreqShift: frequencyShift, maxPeriod: 10_000)
        return linear2(linear1(features, activation: .silu))
    }
}
