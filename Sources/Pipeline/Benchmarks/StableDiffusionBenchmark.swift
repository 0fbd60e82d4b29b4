import Foundation
import Models
import TensorCore

/// A Stable Diffusion model's per-image work on one device: the text encoder
/// on the prompt batch (2 with classifier-free guidance, 1 without), UNet
/// steps on latents of that batch, and one VAE decode — what sets an
/// image's time.
public struct StableDiffusionBenchmark: Sendable {
    public struct Result: Sendable, Codable {
        public let device: String
        public let model: BenchmarkModel
        /// Prompts per UNet evaluation.
        public let batch: Int
        public let width: Int
        public let height: Int
        public let textEncoderMilliseconds: Double
        /// Seconds per UNet step (batch 2).
        public let unet: TimingSummary
        public let vaeDecodeSeconds: Double
        public let unetGFLOP: Double
        public let vaeGFLOP: Double
        public let peakResidentBytes: Int?
        /// On a GPU: the most device memory held at once.
        public var peakDeviceBytes: Int?
        /// On a GPU: what the host recorded, submitted and waited for in the last timed UNet step.
        public var unetCommands: CommandStatistics?
        /// With `profile`: one more text encoding, UNet step and VAE decode, op by op.
        public var textEncoderProfile: OpProfile?
        public var unetProfile: OpProfile?
        public var vaeProfile: OpProfile?

        public var unetGFLOPPerSecond: Double { unetGFLOP / unet.median }
        /// Text encoder + the model's usual steps (50; 1 for SD-Turbo) + VAE decode.
        public var projectedImageSeconds: Double {
            textEncoderMilliseconds / 1000 + Double(model.imageSteps) * unet.median + vaeDecodeSeconds
        }
    }

    public let model: BenchmarkModel
    public let textEncoders: [CLIPTextModel]
    public let unet: UNet2DConditionModel
    public let decoder: VAEDecoder
    /// Called before the UNet and before the decode, as a generation drops
    /// the last stage's weight pages (`StableDiffusionCheckpoint.releaseResidentPages`),
    /// so the peak memory reported is a generation's.
    private let releaseResidentPages: @Sendable () -> Void

    public init(model: BenchmarkModel, textEncoders: [CLIPTextModel], unet: UNet2DConditionModel, decoder: VAEDecoder,
                releaseResidentPages: @escaping @Sendable () -> Void = {}) {
        self.model = model
        self.textEncoders = textEncoders
        self.unet = unet
        self.decoder = decoder
        self.releaseResidentPages = releaseResidentPages
    }

    /// The model's architecture with random weights (timing does not depend
    /// on values): standing in for the fp16 files these models are
    /// distributed as, each backend keeps them as it keeps those (the CPU:
    /// f16 matrices, widened per use). SD 1.5's are `--weights random`'s.
    public init(model: BenchmarkModel = .sd15, randomWeightsOn backend: any Backend) throws {
        let checkpoint = try StableDiffusionCheckpoint.randomWeights(backend: backend, unet: model.unet,
                                                                     textEncoders: model.textEncoders, vae: model.vae)
        self.init(model: model, textEncoders: checkpoint.textEncoders, unet: checkpoint.unet,
                  decoder: checkpoint.vaeDecoder, releaseResidentPages: checkpoint.releaseResidentPages)
    }

    /// The family's conditioning for `ids`: every encoder's states side by
    /// side, and (SDXL) the pooled vector with default size conditioning.
    private func encode(_ ids: [[Int32]], width: Int, height: Int) throws -> (context: Tensor, added: AddedConditions?) {
        let hidden = TextEncoderComponent.hiddenState(for: ModelFamily(unet: unet.configuration))
        let outputs = try textEncoders.map {
            try $0.encode(ids, skip: hidden.layersSkipped(clipSkip: 0), pooled: $0.textProjection != nil,
                          normalizesSkipped: hidden.isNormalized)
        }
        let states = outputs.map(\.hiddenStates)
        let context = states.count == 1 ? states[0] : Tensor.concat(states, axis: 2)
        guard unet.addedEmbedding != nil, let pooled = outputs.last?.pooled else { return (context, nil) }
        let size = PixelSize(width: width, height: height)
        let sizes = SizeConditioning(original: size, target: size).numbers
        return (context, AddedConditions(pooled: pooled, sizes: Array(repeating: sizes, count: ids.count).flatMap { $0 }))
    }

    /// FLOPs of one UNet step (the model's batch) and one VAE decode at this
    /// size, and the step's working set (the bytes it has alive at its peak).
    public func flops(width: Int, height: Int) throws -> (unet: Double, vae: Double, unetWorkingSet: Int) {
        let counter = FLOPCounter()
        counter.attentionScratchLimit = (unet.convIn.weight.backend as? CPUBackend)?.attentionScratchBytes
        let weights = WeightSource(randomWithSeed: 0, backend: counter).root
        let latent = [height / 8, width / 8, unet.configuration.inChannels]
        let step = try UNet2DConditionModel.measureStep(unet.configuration, weights: weights, on: counter,
                                                        batch: model.batch, latentHeight: latent[0],
                                                        latentWidth: latent[1], contextTokens: 77)
        counter.reset()
        let shadowDecoder = try VAEDecoder(configuration: decoder.configuration, weights: weights("decoder"),
                                           postQuant: weights("post_quant_conv"))
        _ = shadowDecoder(counter.zeros([1] + latent, dtype: .f32))
        return (step.flops, counter.tally.total, step.workingSetBytes)
    }

    /// With `profile`, one more text encoding, UNet step and VAE decode run
    /// with every op timed (`Backend.beginProfile`), after the timed ones.
    public func run(device: String, width: Int, height: Int, steps: Int, profile: Bool = false,
                    progress: (String) -> Void = { _ in }) throws -> Result {
        let backend = unet.convIn.weight.backend
        let configuration = unet.configuration
        // The prompt, then (with guidance) the empty negative prompt.
        let ids: [[Int32]] = Array([[49406] + Array(repeating: 320, count: 75) + [49407],
                                    [49406] + Array(repeating: 49407, count: 76)].prefix(model.batch))

        progress("text encoder")
        _ = try encode(ids, width: width, height: height)
        backend.synchronize()
        let textWatch = Stopwatch()
        let (context, added) = try encode(ids, width: width, height: height)
        backend.synchronize()
        let textMilliseconds = textWatch.milliseconds
        var textEncoderProfile: OpProfile?
        if profile {
            progress("text encoder, profiled")
            backend.beginProfile()
            _ = try encode(ids, width: width, height: height)
            textEncoderProfile = backend.endProfile()
        }

        let latentCount = model.batch * (height / 8) * (width / 8) * configuration.inChannels
        let latents = backend.upload((0..<latentCount).map { Float(sin(Double($0) * 0.37)) },
                                     shape: [model.batch, height / 8, width / 8, configuration.inChannels])
        releaseResidentPages()
        let work = try flops(width: width, height: height)
        backend.retainBuffers(forWorkingSet: work.unetWorkingSet)
        progress("UNet warm-up")
        _ = unet(latents, timestep: 999, context: context, added: added)
        backend.synchronize()
        var samples: [Double] = []
        var unetCommands: CommandStatistics?
        for step in 0..<steps {
            progress("UNet step \(step + 1)/\(steps)")
            let watch = Stopwatch()
            unetCommands = recordedCommands(on: backend) {
                _ = unet(latents, timestep: Float(999 - 20 * step), context: context, added: added)
                backend.synchronize()
            }
            samples.append(watch.seconds)
        }

        // Profiled while the UNet's weights are still resident: after the
        // VAE's turn below its pages are dropped, and a step then spends its
        // time faulting them back in (1.7 GB at 512², in 4 KB pages), which
        // the profile would charge to the deep levels' large weights.
        var unetProfile: OpProfile?
        if profile {
            progress("UNet step, profiled")
            backend.beginProfile()
            _ = unet(latents, timestep: 999, context: context, added: added)
            unetProfile = backend.endProfile()
        }

        progress("VAE decode")
        releaseResidentPages()
        let vaeWatch = Stopwatch()
        FullPrecisionProducts.run(if: model.vaeNeedsFullPrecision) { _ = decoder(latents.slice(rows: 0..<1)) }
        backend.synchronize()
        let vaeSeconds = vaeWatch.seconds

        var result = Result(device: device, model: model, batch: model.batch, width: width, height: height, textEncoderMilliseconds: textMilliseconds,
                            unet: TimingSummary(samples), vaeDecodeSeconds: vaeSeconds,
                            unetGFLOP: work.unet / 1e9, vaeGFLOP: work.vae / 1e9,
                            peakResidentBytes: ProcessMemory.peakResidentBytes)
        result.peakDeviceBytes = backend.deviceMemory?.peakBytes
        result.unetCommands = unetCommands
        result.textEncoderProfile = textEncoderProfile
        result.unetProfile = unetProfile
        if profile {
            progress("VAE decode, profiled")
            backend.beginProfile()
            FullPrecisionProducts.run(if: model.vaeNeedsFullPrecision) { _ = decoder(latents.slice(rows: 0..<1)) }
            result.vaeProfile = backend.endProfile()
        }
        return result
    }
}
