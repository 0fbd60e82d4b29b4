import Models
import Schedulers

/// The scheduler a model runs when it brings no `scheduler_config.json`
/// (a single file without `--config`): the one saved with its family's
/// reference release, which is what diffusers' `from_single_file` fetches.
struct StandardScheduler {
    let kind: SchedulerKind
    let configuration: SchedulerConfiguration

    init(family: ModelFamily) {
        var configuration = SchedulerConfiguration()
        switch family {
        case .stableDiffusion1:
            // stable-diffusion-v1-5: PNDM (PLMS), scaled-linear betas, offset 1.
            kind = .pndm
        case .stableDiffusion2:
            // stable-diffusion-2-1 (768², v-prediction). SD 2.x-base checkpoints
            // (512², epsilon) share its tensors: `--prediction-type epsilon`.
            kind = .ddim
            configuration.predictionType = .vPrediction
        case .stableDiffusionXL:
            // stable-diffusion-xl-base-1.0: Euler, leading spacing.
            kind = .euler
            configuration.timestepSpacing = .leading
        }
        self.configuration = configuration
    }
}
