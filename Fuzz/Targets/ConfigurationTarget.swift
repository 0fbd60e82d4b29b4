import Foundation
import Models
import Schedulers
import TensorCore

extension FuzzTarget {
    /// A config.json of any model part: the first byte chooses which
    /// (UNet, VAE, CLIP text encoder, BERT, scheduler), the rest is the JSON.
    /// What decodes is built into its model on the FLOP counter (shapes only,
    /// every weight invented), as a loader would build it.
    static let configuration = FuzzTarget(name: "config", input: "a selector byte, then a config.json") { data in
        guard let selector = data.first else { return }
        let url = Scratch.write(["config.json": data.dropFirst()]).appendingPathComponent("config.json")
        let weights = WeightSource(randomWithSeed: 0, backend: FLOPCounter()).root
        switch selector % 5 {
        case 0:
            guard let c = try? UNetConfiguration.load(url) else { return }
            _ = try? UNet2DConditionModel(configuration: c, weights: weights)
        case 1:
            guard let c = try? VAEConfiguration.load(url) else { return }
            _ = try? VAEDecoder(configuration: c, weights: weights("decoder"), postQuant: weights("post_quant_conv"))
            _ = try? VAEEncoder(configuration: c, weights: weights("encoder"), quant: weights("quant_conv"))
        case 2:
            guard let c = try? CLIPTextConfiguration.load(url) else { return }
            _ = try? CLIPTextModel(configuration: c, weights: weights, withProjection: true)
        case 3:
            guard let c = try? BertConfiguration.load(url) else { return }
            _ = try? BertModel(configuration: c, weights: weights)
        default:
            guard let scheduler = try? SchedulerConfiguration.load(from: url) else { return }
            for kind in SchedulerKind.allCases { _ = try? kind.make(configuration: scheduler, steps: 4) }
        }
    }
}
