import Foundation
import Pipeline

/// One generated image in the summary line and in --json.
struct ImageSummary: Codable {
    let path: String
    let prompt: String
    let seed: UInt64
    let timings: GenerationTimings

    func line() -> String {
        String(format: "Wrote %@ — tokenize %.1f ms, text encoder %.0f ms, UNet %.2f s/it (min %.2f), VAE decode %.1f s, total %.1f s",
               path, timings.tokenizeMilliseconds, timings.textEncoderMilliseconds, timings.unetMeanSeconds,
               timings.unetMinimumSeconds, timings.vaeDecodeSeconds, timings.totalSeconds)
    }
}

/// `sdgen generate --json`.
struct GenerateReport: Codable {
    let device: String
    let model: String
    let images: [ImageSummary]
    let peakResidentBytes: Int?
    /// On a GPU: the most device memory sdgen held at once.
    let peakDeviceBytes: Int?
}
