import ImageIO

/// What a running generation reports, in order: for each image `started`,
/// one `step` per scheduler evaluation (with a `preview` after every
/// `previewEvery`-th but the last), `decoding`, then `finished` with the image.
public enum GenerationEvent: Sendable {
    case started(image: Int, of: Int, seed: UInt64)
    case step(StepProgress)
    /// The latents after `step` decoded by the tiny autoencoder.
    case preview(image: Int, step: Int, RGBImage)
    case decoding(image: Int)
    case finished(GeneratedImage)

    public struct StepProgress: Sendable {
        /// Which image of the request (0-based) and which of its evaluations (1-based).
        public let image: Int
        public let step: Int
        public let steps: Int
        /// Seconds this evaluation took, and since the image started.
        public let seconds: Double
        public let elapsed: Double
        /// The latents after this step (NCHW), for a live preview.
        public let latents: [Float]
        public let shape: LatentShape
    }
}
