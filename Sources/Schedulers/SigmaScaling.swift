/// What the sigma-based schedulers share: the model sees x / sqrt(σ² + 1),
/// and its output is turned into a clean-sample estimate x₀ at noise level σ.
enum SigmaScaling {
    /// diffusers' `scale_model_input`: sample / ((σ² + 1) ** 0.5).
    static func scaleModelInput(_ sample: [Float], sigma: Float) -> [Float] {
        let scale = (sigma * sigma + 1).squareRoot()
        return Elementwise.map(sample) { $0 / scale }
    }

    /// x₀ from (sample, model output) at noise level σ, with diffusers'
    /// operation order: ε: x - σ ε; v: v · (-σ / sqrt(σ² + 1)) + x / (σ² + 1); sample: the output.
    @inline(__always)
    static func denoiser(_ prediction: SchedulerConfiguration.PredictionType,
                         sigma: Float) -> (Float, Float) -> Float {
        switch prediction {
        case .epsilon:
            return { s, m in s - sigma * m }
        case .vPrediction:
            let variance = sigma * sigma + 1
            let outputScale = -sigma / variance.squareRoot()
            return { s, m in m * outputScale + s / variance }
        case .sample:
            return { _, m in m }
        }
    }
}
