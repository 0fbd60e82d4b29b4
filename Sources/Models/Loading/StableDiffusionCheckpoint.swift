import Foundation
import SafeTensors
import TensorCore

/// The networks of a Stable Diffusion checkpoint — its text encoders (one
/// for SD 1.x/2.x, two for SDXL), the UNet and the VAE — with the
/// architectures their configs give, from either layout users have: a
/// diffusers folder or a single original `.safetensors` (whose architecture
/// is read off its tensors for the known families, or from `--config`).
public struct StableDiffusionCheckpoint: Sendable {
    public enum Layout: String, Sendable {
        case diffusersFolder = "diffusers folder", singleFile = "single file", randomWeights = "random weights"
    }

    public let url: URL
    public let layout: Layout
    public let family: ModelFamily
    /// In the order their hidden states are concatenated (diffusers'
    /// `text_encoder`, then `text_encoder_2`).
    public let textEncoders: [CLIPTextModel]
    public let unet: UNet2DConditionModel
    public let vaeDecoder: VAEDecoder
    public let vaeConfiguration: VAEConfiguration
    /// Each text encoder's tokenizer folder, if the checkpoint has one (a
    /// diffusers folder's tokenizer/, or a `--config` folder's); nil: the
    /// family's standard vocabulary.
    public let tokenizerFolders: [URL?]
    /// The folder's scheduler/scheduler_config.json, if present.
    public let schedulerConfiguration: URL?
    /// Whether an absent negative prompt conditions on zeros rather than on
    /// the empty text (diffusers' SDXL pipelines' `force_zeros_for_empty_prompt`,
    /// from model_index.json; SDXL's default).
    public let forcesZerosForEmptyPrompt: Bool
    private let vaeSource: WeightSource
    /// Every source the models were read from.
    private let sources: [WeightSource]

    /// A short name for reports: the folder or file name.
    public var name: String { url.deletingPathExtension().lastPathComponent }

    /// - Parameter configurationFolder: for a single file, a diffusers folder
    ///   whose unet/, vae/ and text_encoder/ config.json replace what the
    ///   tensor shapes imply (like diffusers' `from_single_file(config:)`):
    ///   head counts and norm groups are not in the shapes.
    /// - Parameter loras: LoRAs merged into the UNet and text encoder as they load.
    public init(url: URL, backend: any Backend, dtype: DType? = nil, configurationFolder: URL? = nil,
                loras: LoRAStack = LoRAStack([])) throws {
        self.url = url
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ModelLoadError.unrecognisedCheckpoint("\(url.path): no such file or folder")
        }
        if isDirectory.boolValue {
            layout = .diffusersFolder
            let folder = try DiffusersFolder(url)
            let unetConfig = try UNetConfiguration.load(folder.config("unet"))
            vaeConfiguration = try VAEConfiguration.load(folder.config("vae"))
            // text_encoder, then text_encoder_2 (SDXL), … as far as the folder has them.
            let encoderNames = ["text_encoder"] + (2...8).map { "text_encoder_\($0)" }.prefix { folder.optional($0) != nil }
            let textSources = try encoderNames.map { name in
                WeightSource(files: [try folder.weights(name, base: "model")], backend: backend, dtype: dtype,
                             keyMap: CheckpointKeyMap.clipFolder)
            }
            let unetSource = WeightSource(files: [try folder.weights("unet", base: "diffusion_pytorch_model")],
                                          backend: backend, dtype: dtype)
            vaeSource = WeightSource(files: [try folder.weights("vae", base: "diffusion_pytorch_model")],
                                     backend: backend, dtype: dtype, keyMap: CheckpointKeyMap.vaeFolder)
            family = ModelFamily(unet: unetConfig)
            try loras.check(textEncoders: encoderNames.count, family: family)
            textEncoders = try zip(encoderNames, textSources).enumerated().map { index, encoder in
                let (name, source) = encoder
                // CLIPTextModelWithProjection (SDXL's second) has text_projection beside text_model.
                return try CLIPTextModel(
                    configuration: try CLIPTextConfiguration.load(folder.config(name)),
                    weights: source.patched(loras.patch(for: .textEncoder(index: index, count: encoderNames.count))).root,
                    withProjection: source.contains("text_projection.weight"))
            }
            unet = try UNet2DConditionModel(configuration: unetConfig,
                                            weights: unetSource.patched(loras.patch(for: .unet(of: unetConfig))).root)
            sources = textSources + [unetSource, vaeSource]
            tokenizerFolders = encoderNames.map { name in
                folder.optional(name.replacingOccurrences(of: "text_encoder", with: "tokenizer"))
            }
            forcesZerosForEmptyPrompt = folder.pipelineFlag("force_zeros_for_empty_prompt") ?? (family == .stableDiffusionXL)
            schedulerConfiguration = folder.optional("scheduler/scheduler_config.json")
        } else {
            layout = .singleFile
            let file = try SafeTensorsFile(url: url)
            var inferred = try SingleFileConfiguration(file)
            var configurationFiles: DiffusersFolder?
            if let configurationFolder {
                let folder = try DiffusersFolder(configurationFolder)
                inferred.unet = try UNetConfiguration.load(folder.config("unet"))
                inferred.vae = try VAEConfiguration.load(folder.config("vae"))
                for index in inferred.textEncoders.indices {
                    inferred.textEncoders[index].configuration = try CLIPTextConfiguration.load(
                        folder.config(index == 0 ? "text_encoder" : "text_encoder_\(index + 1)"))
                }
                configurationFiles = folder
            }
            family = inferred.family  // the tensors' layout names it; a --config only fills in what shapes cannot say
            let source = WeightSource(files: [file], backend: backend, dtype: dtype)
            sources = [source]
            vaeConfiguration = inferred.vae
            vaeSource = source.remapped(CheckpointKeyMap.vaeSingleFile(blocks: inferred.vae.blockOutChannels.count))
            let encoderCount = inferred.textEncoders.count
            try loras.check(textEncoders: encoderCount, family: family)
            textEncoders = try inferred.textEncoders.enumerated().map { index, encoder in
                try CLIPTextModel(configuration: encoder.configuration,
                                  weights: source.remapped(encoder.keyMap)
                                      .patched(loras.patch(for: .textEncoder(index: index, count: encoderCount))).root,
                                  withProjection: encoder.withProjection)
            }
            unet = try UNet2DConditionModel(
                configuration: inferred.unet,
                weights: source.remapped(CheckpointKeyMap.unetSingleFile(
                    layersPerBlock: inferred.unet.layersPerBlock,
                    upBlockHasAttention: inferred.unet.upBlockTypes.map { $0 == "CrossAttnUpBlock2D" }))
                    .patched(loras.patch(for: .unet(of: inferred.unet))).root)
            // As diffusers' from_single_file(config=): tokenizer and scheduler come with the configs.
            tokenizerFolders = (0..<encoderCount).map { index in
                configurationFiles?.optional(index == 0 ? "tokenizer" : "tokenizer_\(index + 1)")
            }
            schedulerConfiguration = configurationFiles?.optional("scheduler/scheduler_config.json")
            forcesZerosForEmptyPrompt = configurationFiles?.pipelineFlag("force_zeros_for_empty_prompt")
                ?? (family == .stableDiffusionXL)
        }
        vaeDecoder = try VAEDecoder(configuration: vaeConfiguration, weights: vaeSource.root("decoder"),
                                    postQuant: vaeSource.root("post_quant_conv"))
        // The models hold what they need; pages read only to be copied go.
        releaseResidentPages()
    }

    /// Drops the process's resident copy of the mapped checkpoint files
    /// (`SafeTensorsFile.releaseResidentPages()`): weights that alias them
    /// come back from the page cache when next used. Between the stages of
    /// a generation this keeps only the running model's weights resident.
    public func releaseResidentPages() {
        for source in sources { source.releaseResidentPages() }
    }

    /// A model's architecture with random weights: the whole pipeline at
    /// full size with nothing downloaded (images are noise; the time per
    /// step is real). `sdgen bench` and `--weights random` use it.
    /// - Parameters: unet, textEncoders, vae: the architecture (default SD
    ///   1.5's; `BenchmarkModel` has the others). With a UNet that takes a
    ///   pooled embedding (SDXL), the last text encoder has the projection.
    public static func randomWeights(backend: any Backend, dtype: DType? = nil, loras: LoRAStack = LoRAStack([]),
                                     unet: UNetConfiguration = .stableDiffusion15,
                                     textEncoders: [CLIPTextConfiguration] = [.stableDiffusion15],
                                     vae: VAEConfiguration = .stableDiffusion15) throws -> StableDiffusionCheckpoint {
        try StableDiffusionCheckpoint(randomWeightsOn: backend, dtype: dtype, loras: loras, unet: unet,
                                      textEncoders: textEncoders, vae: vae)
    }

    private init(randomWeightsOn backend: any Backend, dtype: DType?, loras: LoRAStack,
                 unet unetConfiguration: UNetConfiguration, textEncoders textConfigurations: [CLIPTextConfiguration],
                 vae: VAEConfiguration) throws {
        // fp16, as SD 1.5 is distributed and `sdgen download` fetches it.
        let source = WeightSource(randomWithSeed: 1234, backend: backend, dtype: dtype, storedAs: .f16)
        family = ModelFamily(unet: unetConfiguration)
        url = URL(fileURLWithPath: "random-" + family.rawValue.lowercased().replacingOccurrences(of: " ", with: ""))
        layout = .randomWeights
        vaeConfiguration = vae
        vaeSource = source
        sources = [source]
        let count = textConfigurations.count
        try loras.check(textEncoders: count, family: family)
        let projects = unetConfiguration.addedPooledWidth != nil
        textEncoders = try textConfigurations.enumerated().map { index, configuration in
            try CLIPTextModel(configuration: configuration,
                              weights: source.patched(loras.patch(for: .textEncoder(index: index, count: count))).root,
                              withProjection: projects && index == count - 1)
        }
        unet = try UNet2DConditionModel(configuration: unetConfiguration,
                                        weights: source.patched(loras.patch(for: .unet(of: unetConfiguration))).root)
        vaeDecoder = try VAEDecoder(configuration: vaeConfiguration, weights: source.root("decoder"),
                                    postQuant: source.root("post_quant_conv"))
        tokenizerFolders = Array(repeating: nil, count: count)
        schedulerConfiguration = nil
        forcesZerosForEmptyPrompt = family == .stableDiffusionXL
        // Invented weights live in the spill file (on the CPU): pages touched while building go, as a file's do.
        releaseResidentPages()
    }

    /// Whether the UNet takes the masked image and the mask besides the
    /// latents (diffusers' inpainting checkpoints: 4 + 4 + 1 input channels).
    public var isInpainting: Bool { unet.configuration.inChannels == 2 * vaeConfiguration.latentChannels + 1 }

    /// Every weight tensor as held on the backend, in bytes (for memory admission).
    public var weightBytes: Int { sources.reduce(0) { $0 + $1.loadedBytes } }

    /// The VAE encoder, loaded on demand (only img2img needs it).
    public func loadVAEEncoder() throws -> VAEEncoder {
        try VAEEncoder(configuration: vaeConfiguration, weights: vaeSource.root("encoder"),
                       quant: vaeSource.root("quant_conv"))
    }
}

/// Finds a component's config and weights inside a diffusers folder.
struct DiffusersFolder {
    let url: URL

    init(_ url: URL) throws {
        self.url = url
        let unet = url.appendingPathComponent("unet")
        guard FileManager.default.fileExists(atPath: unet.path) else {
            throw ModelLoadError.unrecognisedCheckpoint(
                "\(url.path): not a diffusers Stable Diffusion folder (no unet/); expected model_index.json, unet/, text_encoder/, vae/")
        }
    }

    /// A file or folder inside, if present.
    func optional(_ path: String) -> URL? {
        let item = url.appendingPathComponent(path)
        return FileManager.default.fileExists(atPath: item.path) ? item : nil
    }

    /// A boolean of model_index.json (the pipeline's own config), if set.
    func pipelineFlag(_ key: String) -> Bool? {
        guard let data = try? Data(contentsOf: url.appendingPathComponent("model_index.json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object[key] as? Bool
    }

    func config(_ component: String) throws -> URL {
        let config = url.appendingPathComponent(component).appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: config.path) else {
            throw ModelLoadError.unrecognisedCheckpoint("\(url.path): missing \(component)/config.json")
        }
        return config
    }

    /// The f32 file if present, else the fp16 variant.
    func weights(_ component: String, base: String) throws -> SafeTensorsFile {
        try Self.weights(in: url.appendingPathComponent(component), base: base)
    }

    /// A diffusers model folder's weights: `<base>.safetensors`, else
    /// `<base>.fp16.safetensors`; pickles refused. Also for single-model
    /// folders (a tiny autoencoder).
    static func weights(in folder: URL, base: String) throws -> SafeTensorsFile {
        for name in ["\(base).safetensors", "\(base).fp16.safetensors"] {
            let file = folder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: file.path) { return try SafeTensorsFile(url: file) }
        }
        let pickled = folder.appendingPathComponent("\(base).bin")
        if FileManager.default.fileExists(atPath: pickled.path) {
            throw ModelLoadError.unrecognisedCheckpoint(
                "\(pickled.path): PyTorch pickle files are not read (they can run code); use the .safetensors weights")
        }
        throw ModelLoadError.unrecognisedCheckpoint("\(folder.path): no \(base).safetensors or \(base).fp16.safetensors")
    }
}
