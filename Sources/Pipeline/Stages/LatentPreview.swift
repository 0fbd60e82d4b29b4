import ImageIO

/// A live preview without any decoder: A1111's "Approx cheap" method, a
/// fixed linear map from SD 1.x/2.x's four latent channels to RGB at the
/// latents' own size (`sd_vae_approx.cheap_approximation`). Costs one pass
/// over the latents, so a server can answer progress polls with it; the
/// tiny autoencoder (TAESD) gives a sharper preview at full size.
public enum LatentPreview {
    /// RGB = Σ_c latent_c · coefficients[c], then (x + 1) / 2 clamped, as A1111 renders it.
    static let coefficients: [(r: Float, g: Float, b: Float)] = [
        (0.298, 0.207, 0.208),
        (0.187, 0.286, 0.173),
        (-0.158, 0.189, 0.264),
        (-0.184, -0.271, -0.473),
    ]

    /// The preview of one image's NCHW latents, or nil for latents that are not four-channel.
    public static func cheapApproximation(_ latents: [Float], shape: LatentShape) -> RGBImage? {
        guard shape.channels == coefficients.count, latents.count == shape.count else { return nil }
        let plane = shape.height * shape.width
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        func byte(_ value: Float) -> UInt8 { UInt8(min(max((value + 1) / 2, 0), 1) * 255) }
        latents.withUnsafeBufferPointer { l in
            for p in 0..<plane {
                var (r, g, b): (Float, Float, Float) = (0, 0, 0)
                for (c, k) in coefficients.enumerated() {
                    let v = l[c * plane + p]
                    r += v * k.r
                    g += v * k.g
                    b += v * k.b
                }
                pixels[3 * p] = byte(r)
                pixels[3 * p + 1] = byte(g)
                pixels[3 * p + 2] = byte(b)
            }
        }
        return try? RGBImage(width: shape.width, height: shape.height, pixels: pixels)
    }
}
