/// The timesteps of the consistency-distilled samplers (diffusers' `LCMScheduler`
/// and `TCDScheduler`): the model was distilled on `original_inference_steps`
/// evenly spaced timesteps k·i − 1 (k = num_train_timesteps / original; 999,
/// 979, …, 19 for 50), and `steps` of them are taken at evenly spaced indices.
enum DistillationTimesteps {
    static func descending(configuration: SchedulerConfiguration, steps: Int, sampler: String) throws -> [Int] {
        let original = configuration.originalInferenceSteps
        guard (1...configuration.numTrainTimesteps).contains(original) else {
            throw SchedulerError.invalid(
                "original_inference_steps must be in 1...\(configuration.numTrainTimesteps), got \(original)")
        }
        guard steps <= original else {
            throw SchedulerError.invalid("\(sampler) takes at most original_inference_steps (\(original)) steps, got \(steps)")
        }
        let k = configuration.numTrainTimesteps / original
        let origin = (1...original).reversed().map { $0 * k - 1 }
        // numpy's floor(linspace(0, count, steps, endpoint=False)), in float64 as numpy computes it.
        return (0..<steps).map { i in origin[Int((Double(origin.count) / Double(steps) * Double(i)).rounded(.down))] }
    }
}
