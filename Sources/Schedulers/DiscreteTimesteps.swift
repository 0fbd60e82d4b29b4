/// The integer inference timesteps of DDIM and PNDM, as their diffusers
/// `set_timesteps` picks them from the training range, from the noisiest
/// down.
enum DiscreteTimesteps {
    static func descending(configuration: SchedulerConfiguration, spacing: SchedulerConfiguration.TimestepSpacing,
                           steps: Int) -> [Int] {
        let trainCount = configuration.numTrainTimesteps
        switch spacing {
        case .linspace:
            return NumPy.linspace(0, Double(trainCount - 1), count: steps).reversed().map { Int(NumPy.round($0)) }
        case .leading:
            let ratio = trainCount / steps
            return (0..<steps).reversed().map { $0 * ratio + configuration.stepsOffset }
        case .trailing:
            let ratio = Double(trainCount) / Double(steps)
            return NumPy.arange(Double(trainCount), 0, step: -ratio).map { Int(NumPy.round($0)) - 1 }
        }
    }
}
