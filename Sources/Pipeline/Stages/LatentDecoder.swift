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
    /// Decode with full-precision products (`ModelBundle.vaeNeedsFullPrecision`).
    public let fullPrecision: Bool

    public init(vae: VAEDecoder, configuration: VAEConfiguration, fullPrecision: Bool = false) {
        model = .autoencoder(vae)
        scalingFactor = configuration.scalingFactor
        self.fullPrecision = fullPrecision
    }

    public init(tiny: TinyAutoencoderDecoder) {
        model = .tiny(tiny)
        scalingFactor = tiny.configuration.scalingFactor
        fullPrecision = false
    }

    /// The decoder's output, about [-1, 1], [height][width][3] row-major.
    /// - Parameter tiling: decode the VAE's output in tiles (the tiny autoencoder always decodes whole: it is small).
    public func decode(_ latents: [Float], shape: LatentShape, on backend: any Backend,
                       tiling: TiledVAEDecoding? = nil) -> [Float] {
        let scaled = latents.map { $0 / scalingFactor }
        func run(_ values: [Float], _ window: LatentShape) -> [Float] {
            let input = backend.upload(values, shape: [1, window.channels, window.height, window.width]).permuted([0, 2, 3, 1])
            return FullPrecisionProducts.run(if: fullPrecision) {
                switch model {
                case .autoencoder(let vae): vae(input).toArray()
                case .tiny(let tiny): tiny(input).toArray()
                }
            }
        }
        guard case .autoencoder(let vae) = model, let tiling, tiling.spansTiles(shape) else { return run(scaled, shape) }
        return tiling.decode(scaled, shape: shape, scale: vae.configuration.scaleFactor,
                             channels: vae.configuration.outChannels, decodeTile: run)
    }
}
