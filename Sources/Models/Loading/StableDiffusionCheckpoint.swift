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
            let clipConfig = try CLIPTextConfiguration.load(folder.config("text_encoder"))
            vaeConfiguration = try VAEConfiguration.load(folder.config("vae"))
            let text = WeightSource(files: [try folder.weights("text_encoder", base: "model")], backend: backend,
                                    dtype: dtype, keyMap: CheckpointKeyMap.clipFolder)
            let unetSource = WeightSource(files: [try folder.weights("unet", base: "diffusion_pytorch_model")],
                                          backend: backend, dtype: dtype)
            vaeSource = WeightSource(files: [try folder.weights("vae", base: "diffusion_pytorch_model")],
                                     backend: backend, dtype: dtype, keyMap: CheckpointKeyMap.vaeFolder)
            family = ModelFamily(unet: unetConfig)
            try loras.check(textEncoders: 1, family: family)
            textEncoders = [try CLIPTextModel(configuration: clipConfig,
                                              weights: text.patched(loras.patch(for: .textEncoder(index: 0, count: 1))).root)]
            unet = try UNet2DConditionModel(configuration: unetConfig,
                                            weights: unetSource.patched(loras.patch(for: .unet(of: unetConfig))).root)
            sources = [text, unetSource, vaeSource]
            tokenizerFolders = [folder.optional("tokenizer")]
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
                inferred.clip = try CLIPTextConfiguration.load(folder.config("text_encoder"))
                configurationFiles = folder
            }
            family = inferred.family  // the tensors' layout names it; a --config only fills in what shapes cannot say
            let source = WeightSource(files: [file], backend: backend, dtype: dtype)
            sources = [source]
            vaeConfiguration = inferred.vae
            vaeSource = source.remapped(CheckpointKeyMap.vaeSingleFile(blocks: inferred.vae.blockOutChannels.count))
            try loras.check(textEncoders: 1, family: family)
            textEncoders = [try CLIPTextModel(
                configuration: inferred.clip,
                weights: source.remapped(inferred.clipKeyMap)
                    .patched(loras.patch(for: .textEncoder(index: 0, count: 1))).root)]
            unet = try UNet2DConditionModel(
                configuration: inferred.unet,
                weights: source.remapped(CheckpointKeyMap.unetSingleFile(
                    layersPerBlock: inferred.unet.layersPerBlock,
                    upBlockHasAttention: inferred.unet.upBlockTypes.map { $0 == "CrossAttnUpBlock2D" }))
                    .patched(loras.patch(for: .unet(of: inferred.unet))).root)
            // As diffusers' from_single_file(config=): tokenizer and scheduler come with the configs.
            tokenizerFolders = [configurationFiles?.optional("tokenizer")]
            schedulerConfiguration = configurationFiles?.optional("scheduler/scheduler_config.json")
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

    /// Stable Diffusion 1.5's architecture with random weights: the whole
    /// pipeline at full size with nothing downloaded (images are noise; the
    /// time per step is real). The one place SD 1.5's shape is spelled out
    /// for generation; `sdgen bench` uses it too.
    /// - Parameters: unet, textEncoder: the architecture (default SD 1.5's;
    ///   `sdgen bench --model` passes SD 2.1's).
    public static func randomWeights(backend: any Backend, dtype: DType? = nil, loras: LoRAStack = LoRAStack([]),
                                     unet: UNetConfiguration = .stableDiffusion15,
                                     textEncoder: CLIPTextConfiguration = .stableDiffusion15) throws -> StableDiffusionCheckpoint {
        try StableDiffusionCheckpoint(randomWeightsOn: backend, dtype: dtype, loras: loras, unet: unet, textEncoder: textEncoder)
    }

    private init(randomWeightsOn backend: any Backend, dtype: DType?, loras: LoRAStack,
                 unet unetConfiguration: UNetConfiguration, textEncoder textConfiguration: CLIPTextConfiguration) throws {
        // fp16, as SD 1.5 is distributed and `sdgen download` fetches it.
        let source = WeightSource(randomWithSeed: 1234, backend: backend, dtype: dtype, storedAs: .f16)
        url = URL(fileURLWithPath: "random-sd15")
        layout = .randomWeights
        family = ModelFamily(unet: unetConfiguration)
        vaeConfiguration = .stableDiffusion15
        vaeSource = source
        sources = [source]
        try loras.check(textEncoders: 1, family: family)
        textEncoders = [try CLIPTextModel(configuration: textConfiguration,
                                          weights: source.patched(loras.patch(for: .textEncoder(index: 0, count: 1))).root)]
        unet = try UNet2DConditionModel(configuration: unetConfiguration,
                                        weights: source.patched(loras.patch(for: .unet(of: unetConfiguration))).root)
        vaeDecoder = try VAEDecoder(configuration: vaeConfiguration, weights: source.root("decoder"),
                                    postQuant: source.root("post_quant_conv"))
        tokenizerFolders = [nil]
        schedulerConfiguration = nil
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
