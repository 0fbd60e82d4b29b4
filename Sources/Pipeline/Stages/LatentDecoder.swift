import Models
import TensorCore

/// The decoding seam: final latents to the VAE's image, latents ÷ the VAE's
/// scaling factor as diffusers decodes them.
public struct LatentDecoder: Sendable {
    public let decoder: VAEDecoder
    public let scalingFactor: Float

    public init(decoder: VAEDecoder, scalingFactor: Float) {
        self.decoder = decoder
        self.scalingFactor = scalingFactor
    }

    /// The VAE output, about [-1, 1], [height][width][3] row-major.
    public func decode(_ latents: [Float], shape: LatentShape) -> [Float] {
        let backend = decoder.convIn.weight.backend
        let scaled = latents.map { $0 / scalingFactor }
        return decoder(backend.upload(scaled, shape: [1, shape.channels, shape.height, shape.width])
            .permuted([0, 2, 3, 1])).toArray()
    }
}
