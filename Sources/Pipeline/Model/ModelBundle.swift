import Foundation
import Models
import Schedulers
import TensorCore
import Tokenizers

/// Everything a generation needs from one loaded model: its text encoders
/// (each with its tokenizer), the UNet, the VAE, the scheduler configuration
/// saved with it, its family and the defaults that follow from it (image
/// size, sampler). Loaded once by `load`, from any layout; read-only after,
/// so one bundle can serve many generations (the service runs them one at a time).
public final class ModelBundle: @unchecked Sendable {
    public let checkpoint: StableDiffusionCheckpoint
    public let textEncoders: [TextEncoderComponent]
    public let schedulerConfiguration: SchedulerConfiguration
    /// The sampler the model's scheduler config names (diffusers runs that
    /// one; PNDM for a class sdgen lacks), else its family's (`StandardScheduler`).
    public let defaultScheduler: SchedulerKind
    /// The LoRAs merged into the UNet and text encoder, in order.
    public let loras: [AppliedLoRA]
    /// What loading noticed but did not refuse (LoRA modules that match nothing).
    public let warnings: [String]
    /// How it was loaded, for loading it again with other LoRAs.
    private let recipe: Recipe?
    private let encoderLock = NSLock()
    private var loadedEncoder: VAEEncoder?

    public var backend: any Backend { checkpoint.unet.convIn.weight.backend }
    public var name: String { checkpoint.name }
    public var family: ModelFamily { checkpoint.family }
    public var unet: UNet2DConditionModel { checkpoint.unet }
    public var vaeDecoder: VAEDecoder { checkpoint.vaeDecoder }
    public var vaeConfiguration: VAEConfiguration { checkpoint.vaeConfiguration }
    /// Whether the VAE runs with full-precision products (`VAEConfiguration.runsInFullPrecision`).
    public var vaeNeedsFullPrecision: Bool { vaeConfiguration.runsInFullPrecision(in: family) }
    /// Latent channels, and pixels per latent on each side.
    public var latentChannels: Int { vaeConfiguration.latentChannels }
    public var vaeScaleFactor: Int { vaeConfiguration.scaleFactor }

    /// The image side the model was trained at: the UNet's `sample_size`
    /// latents, as diffusers' pipelines default to; else the family's.
    public var defaultImageSize: Int {
        checkpoint.unet.configuration.sampleSize.map { $0 * vaeScaleFactor } ?? family.defaultImageSize
    }

    /// The guidance scale diffusers' pipeline for the family defaults to.
    public var defaultGuidance: Float {
        family == .stableDiffusionXL ? GenerationDefaults.guidanceXL : GenerationDefaults.guidance
    }

    private struct Recipe {
        let source: ModelSource
        let configurationFolder: URL?
        let backend: any Backend
        let strictLoRA: Bool
    }

    public convenience init(checkpoint: StableDiffusionCheckpoint, textEncoders: [TextEncoderComponent],
                schedulerConfiguration: SchedulerConfiguration, defaultScheduler: SchedulerKind) {
        self.init(checkpoint: checkpoint, textEncoders: textEncoders, schedulerConfiguration: schedulerConfiguration,
                  defaultScheduler: defaultScheduler, loras: [], warnings: [], recipe: nil)
    }

    private init(checkpoint: StableDiffusionCheckpoint, textEncoders: [TextEncoderComponent],
                 schedulerConfiguration: SchedulerConfiguration, defaultScheduler: SchedulerKind,
                 loras: [AppliedLoRA], warnings: [String], recipe: Recipe?) {
        self.checkpoint = checkpoint
        self.textEncoders = textEncoders
        self.schedulerConfiguration = schedulerConfiguration
        self.defaultScheduler = defaultScheduler
        self.loras = loras
        self.warnings = warnings
        self.recipe = recipe
    }

    /// Loads a model and the tokenizers and scheduler configuration that go with it.
    /// - Parameter configurationFolder: for a single file, a diffusers folder
    ///   whose configs (and tokenizer, scheduler) to use instead of detection.
    /// - Parameter loras: merged into the weights as they load.
    /// - Parameter strictLoRA: a LoRA module that matches nothing is an error, not a warning.
    public static func load(_ source: ModelSource, configurationFolder: URL? = nil, backend: any Backend,
                            loras: [AppliedLoRA] = [], strictLoRA: Bool = false) throws -> ModelBundle {
        let stack = LoRAStack(loras.map(\.entry))
        let checkpoint = switch source {
        case .path(let url):
            try StableDiffusionCheckpoint(url: url, backend: backend, configurationFolder: configurationFolder,
                                          loras: stack)
        case .random(let model):
            try StableDiffusionCheckpoint.randomWeights(backend: backend, loras: stack, unet: model.unet,
                                                        textEncoders: model.textEncoders, vae: model.vae)
        }
        var warnings: [String] = []
        for (file, modules) in stack.unmatched() {
            if strictLoRA { throw LoRAError.unmatchedModules(path: file.url.path, modules: modules) }
            warnings.append("LoRA \(file.name): \(modules.count) of its modules match nothing in the model and are ignored ("
                            + modules.prefix(3).joined(separator: ", ") + (modules.count > 3 ? ", …" : "") + ")")
        }
        // SDXL conditions on each encoder's penultimate layer as it is, and its UNet takes
        // the pooled vector of the encoder with a projection.
        let takesPooled = checkpoint.unet.configuration.addedPooledWidth != nil
        let hiddenState = TextEncoderComponent.hiddenState(for: checkpoint.family)
        let encoders = try zip(checkpoint.textEncoders, checkpoint.tokenizerFolders).enumerated().map { index, encoder in
            let (model, folder) = encoder
            let tokenizer = try folder.map { try CLIPTokenizer(contentsOf: $0) } ?? Self.standardTokenizer(
                family: checkpoint.family, textEncoder: index)
            return TextEncoderComponent(model: model, tokenizer: tokenizer, hiddenState: hiddenState,
                                        yieldsPooled: takesPooled && model.textProjection != nil)
        }
        let textWidth = encoders.reduce(0) { $0 + $1.model.configuration.hiddenSize }
        guard textWidth == checkpoint.unet.configuration.crossAttentionDim else {
            throw ModelLoadError.invalidConfiguration(
                "\(checkpoint.url.path): the text encoders give states \(textWidth) wide, "
                + "but the UNet's cross_attention_dim is \(checkpoint.unet.configuration.crossAttentionDim)")
        }
        if takesPooled {
            let width = checkpoint.unet.configuration.addedPooledWidth
            guard let pooled = encoders.first(where: \.yieldsPooled),
                  pooled.model.textProjection?.outputFeatures == width else {
                throw ModelLoadError.invalidConfiguration(
                    "\(checkpoint.url.path): the UNet takes a pooled text embedding \(width ?? 0) wide, "
                    + "but no text encoder with a projection gives one")
            }
        }
        let standard = StandardScheduler(family: checkpoint.family)
        let schedulerFile = checkpoint.schedulerConfiguration
        let scheduler = try schedulerFile.map { try SchedulerConfiguration.load(from: $0) } ?? standard.configuration
        let className = schedulerFile.flatMap(Self.className(ofConfig:))
        let kind = className.map { SchedulerKind(diffusersClassName: $0, configuration: scheduler) ?? .pndm } ?? standard.kind
        return ModelBundle(checkpoint: checkpoint, textEncoders: encoders, schedulerConfiguration: scheduler,
                           defaultScheduler: kind, loras: loras, warnings: warnings,
                           recipe: Recipe(source: source, configurationFolder: configurationFolder, backend: backend,
                                          strictLoRA: strictLoRA))
    }

    /// Whether this bundle's weights are the model's with exactly these LoRAs merged.
    func hasLoRAs(_ loras: [AppliedLoRA]) -> Bool {
        self.loras.map(\.identity) == loras.map(\.identity)
    }

    /// The same model loaded again with other LoRAs merged (the UNet and text
    /// encoder are rebuilt from the mapped files; nothing is downloaded or reparsed).
    func reloaded(with loras: [AppliedLoRA]) throws -> ModelBundle {
        guard let recipe else { throw LoRALibraryError.notReloadable }
        return try ModelBundle.load(recipe.source, configurationFolder: recipe.configurationFolder,
                                    backend: recipe.backend, loras: loras, strictLoRA: recipe.strictLoRA)
    }

    /// The VAE encoder, loaded on first use (only image-to-image needs it).
    public func vaeEncoder() throws -> VAEEncoder {
        try encoderLock.withLock {
            if let loadedEncoder { return loadedEncoder }
            let encoder = try checkpoint.loadVAEEncoder()
            loadedEncoder = encoder
            return encoder
        }
    }

    /// The family's tokenizer for a checkpoint that brings none: CLIP's
    /// vocabulary (shared by CLIP and OpenCLIP) with the family's padding.
    private static func standardTokenizer(family: ModelFamily, textEncoder index: Int) throws -> CLIPTokenizer {
        let bundled = try CLIPTokenizer.bundled()
        return try family.paddingToken(textEncoder: index).map { try bundled.padding(with: $0) } ?? bundled
    }

    /// A config file's `_class_name`: which diffusers class saved it.
    private static func className(ofConfig url: URL) -> String? {
        guard let data = try? Data(contentsOf: url),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["_class_name"] as? String
    }
}
