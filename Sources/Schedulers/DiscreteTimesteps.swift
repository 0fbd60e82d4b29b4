/// The integer inference timesteps of DDIM and PNDM, as their diffusers
/// `set_timesteps` picks them from the training range, from the noisiest
/// down.
enum DiscreteTimesteps {
    /// Throws where "leading" spacing's `steps_offset` pushes the first
    /// timestep past the training range (SD 1.5's offset 1 at 1000 steps:
    /// timestep 1000 of 0…999, where diffusers fails indexing its alphas).
    static func descending(configuration: SchedulerConfiguration, spacing: SchedulerConfiguration.TimestepSpacing,
                           steps: Int) throws -> [Int] {
        let trainCount = configuration.numTrainTimesteps
        switch spacing {
        case .linspace:
            return NumPy.linspace(0, Double(trainCount - 1), count: steps).reversed().map { Int(NumPy.round($0)) }
        case .leading:
            let offset = configuration.stepsOffset
            func first(_ steps: Int) -> Int { (steps - 1) * (trainCount / steps) + offset }
            guard offset >= 0, first(steps) < trainCount else {
                let most = (1..<steps).last { first($0) < trainCount }
                throw SchedulerError.invalid("\(steps) steps with leading spacing and steps_offset \(offset) start at "
                    + "timestep \(first(steps)), past the \(trainCount) the model was trained on"
                    + (most.map { "; use at most \($0) steps" } ?? ""))
            }
            return (0..<steps).reversed().map { $0 * (trainCount / steps) + offset }
        case .trailing:
            let ratio = Double(trainCount) / Double(steps)
            return NumPy.arange(Double(trainCount), 0, step: -ratio).map { Int(NumPy.round($0)) - 1 }
        }
    }
}
