import TensorCore

/// SDXL's added conditioning (diffusers' `addition_embed_type: "text_time"`):
/// six size numbers per image — original height and width, crop top and
/// left, target height and width — each as sinusoidal features
/// (`add_time_proj`), after the pooled text embedding, through a two-layer
/// MLP (`add_embedding`) into the timestep embedding's width; the UNet adds
/// the result to its timestep embedding.
public struct TextTimeEmbedding: Sendable {
    /// Sinusoidal features per size number (SDXL: 256).
    public let timeChannels: Int
    public let pooledWidth: Int
    public let linear1: Linear
    public let linear2: Linear
    public let flipSinToCos: Bool
    public let frequencyShift: Float

    /// The numbers each image is conditioned on (`add_time_ids`).
    public static let sizeNumbers = 6

    public init(_ w: Weights, timeChannels: Int, inputWidth: Int, embedding: Int, flipSinToCos: Bool,
                frequencyShift: Float) throws {
        self.timeChannels = timeChannels
        pooledWidth = inputWidth - Self.sizeNumbers * timeChannels
        linear1 = try Linear(w("linear_1"), input: inputWidth, output: embedding)
        linear2 = try Linear(w("linear_2"), input: embedding, output: embedding)
        self.flipSinToCos = flipSinToCos
        self.frequencyShift = frequencyShift
    }

    /// - Parameters:
    ///   - pooled: the pooled text embeddings [N, pooledWidth].
    ///   - sizes: `sizeNumbers` per image, N × 6 row-major.
    /// - Returns: [N, embedding].
    public func callAsFunction(pooled: Tensor, sizes: [Float]) -> Tensor {
        let batch = pooled.shape[0]
        let features = pooled.backend.timestepEmbedding(sizes, dim: timeChannels, flipSinToCos: flipSinToCos,
                                                        downscaleFreqShift: frequencyShift, maxPeriod: 10_000)
            .reshaped([batch, Self.sizeNumbers * timeChannels])
        return linear2(linear1(Tensor.concat([pooled, features], axis: 1), activation: .silu))
    }
}

/// What an SDXL-style UNet takes besides latents, timestep and text: per
/// batch row, the pooled text embedding and the six size numbers.
public struct AddedConditions: Sendable {
    /// [N, pooled width].
    public var pooled: Tensor
    /// N × 6: original (h, w), crop (top, left), target (h, w), as diffusers orders `add_time_ids`.
    public var sizes: [Float]

    public init(pooled: Tensor, sizes: [Float]) {
        self.pooled = pooled
        self.sizes = sizes
    }
}
