import Foundation
import ImageIO
import Models
import Schedulers
import TensorCore

/// An image into latents as diffusers' image pipelines encode one: pixels
/// to [-1, 1] (`x / 255 · 2 − 1` in float32), the VAE encoder, its diagonal
/// Gaussian *sampled* with the run's generator (`retrieve_latents`,
/// mode "sample": mean + exp(½·clamp(logvar, −30, 20)) · randn), times the
/// VAE's scaling factor. The draw is part of the seed's contract.
public struct ImageLatentEncoder: Sendable {
    public let encoder: VAEEncoder
    public let scalingFactor: Float
    /// Encode with full-precision products (`ModelBundle.vaeNeedsFullPrecision`).
    public let fullPrecision: Bool

    public init(encoder: VAEEncoder, scalingFactor: Float, fullPrecision: Bool = false) {
        self.encoder = encoder
        self.scalingFactor = scalingFactor
        self.fullPrecision = fullPrecision
    }

    /// diffusers' normalisation of 8-bit pixels, [H, W, 3] row-major.
    public static func normalized(_ image: RGBImage) -> [Float] {
        image.pixels.map { Float($0) / 255 * 2 - 1 }
    }

    /// Latents NCHW [channels, h, w] of `pixels` ([height, width, 3] in [-1, 1]).
    public func latents(_ pixels: [Float], width: Int, height: Int, random: inout any RandomSource) -> [Float] {
        let backend = encoder.convIn.weight.backend
        let moments = FullPrecisionProducts.run(if: fullPrecision) {
            encoder(backend.upload(pixels, shape: [1, height, width, 3])).toArray()
        }
        let channels = encoder.configuration.latentChannels
        let plane = moments.count / (2 * channels)
        let noise = random.normal(count: channels * plane)
        // moments are NHWC [h·w, 2·channels]: the mean, then the log-variance.
        return [Float](unsafeUninitializedCapacity: channels * plane) { out, initialized in
            moments.withUnsafeBufferPointer { m in
                for c in 0..<channels {
                    for p in 0..<plane {
                        let mean = m[p * 2 * channels + c]
                        let logVariance = min(max(m[p * 2 * channels + channels + c], -30), 20)
                        let deviation = exp(0.5 * logVariance)
                        out[c * plane + p] = (mean + deviation * noise[c * plane + p]) * scalingFactor
                    }
                }
            }
            initialized = channels * plane
        }
    }
}
