import Models
import TensorCore

/// The decoding seam: final latents to an image, latents ÷ the decoder's
/// scaling factor as diffusers decodes them — with the model's VAE, or with
/// the tiny autoencoder (TAESD: `--vae taesd`, and live previews), whose own
/// config's factor is 1 because it was trained on the scaled latents.
public struct LatentDecoder: Sendable {
    public enum Model: Sendable {
        case autoencoder(VAEDecoder)
        case tiny(TinyAutoencoderDecoder)
    }

    public let model: Model
    public let scalingFactor: Float

    public init(vae: VAEDecoder, configuration: VAEConfiguration) {
        model = .autoencoder(vae)
        scalingFactor = configuration.scalingFactor
    }

    public init(tiny: TinyAutoencoderDecoder) {
        model = .tiny(tiny)
        scalingFactor = tiny.configuration.scalingFactor
    }

    /// The decoder's output, about [-1, 1], [height][width][3] row-major.
    public func decode(_ latents: [Float], shape: LatentShape, on backend: any Backend) -> [Float] {
        let scaled = latents.map { $0 / scalingFactor }
        let input = backend.upload(scaled, shape: [1, shape.channels, shape.height, shape.width]).permuted([0, 2, 3, 1])
        switch model {
        case .autoencoder(let vae): return vae(input).toArray()
        case .tiny(let tiny): return tiny(input).toArray()
        }
    }
}
