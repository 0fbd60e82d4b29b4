import SafeTensors

/// Hyperparameters of a single-file checkpoint, read off its tensor names
/// and shapes (such files carry no config); what shapes cannot tell (head
/// counts) comes from the detected `ModelFamily`. The families whose
/// single-file layout sdgen reads are `loadableFamilies`; others get a
/// message naming the family.
public struct SingleFileConfiguration: Sendable {
    public static let loadableFamilies: [ModelFamily] = [.stableDiffusion1, .stableDiffusion2, .stableDiffusionXL]

    public var family: ModelFamily
    public var unet: UNetConfiguration
    public var vae: VAEConfiguration
    /// The text encoders in the order their states are concatenated.
    public var textEncoders: [TextEncoder]

    /// One text encoder: its architecture and where its tensors are, under transformers' names.
    public struct TextEncoder: Sendable {
        public var configuration: CLIPTextConfiguration
        public var keyMap: CheckpointKeyMap.Map
        /// Whether it has `text_projection` (SDXL's second: its pooled output is projected).
        public var withProjection: Bool
    }

    /// The first text encoder's architecture (the only one before SDXL).
    public var clip: CLIPTextConfiguration { textEncoders[0].configuration }

    public init(_ file: SafeTensorsFile) throws {
        let path = file.url.path
        func shape(_ key: String) -> [Int]? { file.info(key)?.shape }
        /// The shape of a tensor the structure is read from, checked for its rank: a corrupt
        /// or foreign file gets one line, not an index out of range. Nil when absent.
        func dims(_ key: String, rank: Int) throws -> [Int]? {
            guard let s = shape(key) else { return nil }
            guard s.count == rank, s.allSatisfy({ $0 > 0 }) else {
                throw ModelLoadError.unrecognisedCheckpoint("\(path): tensor \(key) has shape \(s), not \(rank)-dimensional")
            }
            return s
        }
        func need(_ key: String, rank: Int) throws -> [Int] {
            guard let s = try dims(key, rank: rank) else {
                throw ModelLoadError.missingTensor(key: key, expectedShape: [], source: path)
            }
            return s
        }

        let known = Self.loadableFamilies.map(\.rawValue).joined(separator: ", ")
        if shape("conditioner.embedders.0.model.token_embedding.weight") != nil {
            // SDXL's refiner: one OpenCLIP encoder and aesthetic-score conditioning.
            throw ModelLoadError.unrecognisedCheckpoint(
                "\(path): an SDXL refiner checkpoint; sdgen runs SDXL base-architecture models (\(known)), not the refiner")
        } else if shape("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight") != nil
            || shape("model.diffusion_model.label_emb.0.0.weight") != nil {
            family = .stableDiffusionXL
        } else if shape("cond_stage_model.model.token_embedding.weight") != nil {
            family = .stableDiffusion2
        } else if shape("model.diffusion_model.input_blocks.0.0.weight") != nil {
            family = .stableDiffusion1
        } else {
            throw ModelLoadError.unrecognisedCheckpoint(
                "\(path): not a Stable Diffusion checkpoint of a known family (\(known)): no model.diffusion_model.input_blocks.0.0.weight")
        }
        guard Self.loadableFamilies.contains(family) else {
            throw ModelLoadError.unrecognisedCheckpoint(
                "\(path): an \(family.rawValue) single-file checkpoint; sdgen reads single files of \(known)")
        }

        // UNet: walk input_blocks; a block with an `op` is a downsampler.
        let unetPrefix = "model.diffusion_model."
        var u = UNetConfiguration.stableDiffusion15
        let convIn = try need(unetPrefix + "input_blocks.0.0.weight", rank: 4)
        u.inChannels = convIn[1]
        u.outChannels = try need(unetPrefix + "out.2.weight", rank: 4)[0]
        func transformerDepth(_ base: String) -> Int {
            var depth = 0
            while shape(base + "transformer_blocks.\(depth).norm1.weight") != nil { depth += 1 }
            return depth
        }
        var widths: [Int] = [], attention: [Bool] = [], depths: [Int] = [], layers = 0
        var currentLayers = 0, currentAttention = false, currentDepth = 1
        var n = 1
        while true {
            let base = unetPrefix + "input_blocks.\(n)."
            if let resnet = try dims(base + "0.in_layers.2.weight", rank: 4) {
                currentLayers += 1
                if currentLayers == 1 { widths.append(resnet[0]) }
                if shape(base + "1.proj_in.weight") != nil {
                    currentAttention = true
                    currentDepth = max(1, transformerDepth(base + "1."))
                }
            } else if shape(base + "0.op.weight") != nil {
                layers = currentLayers
                attention.append(currentAttention)
                depths.append(currentDepth)
                (currentLayers, currentAttention, currentDepth) = (0, false, 1)
            } else {
                break
            }
            n += 1
        }
        attention.append(currentAttention)
        depths.append(currentDepth)
        if layers == 0 { layers = currentLayers }
        guard !widths.isEmpty, layers > 0 else {
            throw ModelLoadError.unrecognisedCheckpoint("\(path): cannot read the UNet's block structure")
        }
        u.blockOutChannels = widths
        u.layersPerBlock = layers
        u.downBlockTypes = attention.map { $0 ? "CrossAttnDownBlock2D" : "DownBlock2D" }
        u.upBlockTypes = attention.reversed().map { $0 ? "CrossAttnUpBlock2D" : "UpBlock2D" }
        // proj_in is a Linear (SD 2.x, SDXL) or a 1×1 convolution (SD 1.x).
        let projectionKey = unetPrefix + "middle_block.1.proj_in.weight"
        guard let midProjection = shape(projectionKey) else {
            throw ModelLoadError.missingTensor(key: projectionKey, expectedShape: [], source: path)
        }
        u.useLinearProjection = midProjection.count == 2
        u.crossAttentionDim = try need(unetPrefix + "middle_block.1.transformer_blocks.0.attn2.to_k.weight", rank: 2)[1]
        u.attentionHeadDim = family.unetAttentionHeads(blockWidths: widths)
        // diffusers' mid block takes the last level's depth; the files agree.
        u.transformerLayersPerBlock = Set(depths).count == 1 ? .one(depths[0]) : .perBlock(depths)
        u.sampleSize = family.defaultImageSize / 8
        if let added = try dims(unetPrefix + "label_emb.0.0.weight", rank: 2) {
            // SDXL's size conditioning: 6 numbers × 256 features after the pooled text (not in the shapes).
            u.addEmbeddingType = "text_time"
            u.additionTimeEmbedDim = family.additionTimeEmbedDim
            u.projectionClassEmbeddingsInputDim = added[1]
        }
        unet = u

        // VAE: first_stage_model.encoder.down.{i}.block.{j}.
        var v = VAEConfiguration.stableDiffusion15
        let vaePrefix = "first_stage_model."
        var vaeWidths: [Int] = []
        while let conv = try dims(vaePrefix + "encoder.down.\(vaeWidths.count).block.0.conv1.weight", rank: 4) { vaeWidths.append(conv[0]) }
        guard !vaeWidths.isEmpty else {
            throw ModelLoadError.missingTensor(key: vaePrefix + "encoder.down.0.block.0.conv1.weight", expectedShape: [],
                                               source: path + " (no VAE in this checkpoint)")
        }
        var vaeLayers = 0
        while shape(vaePrefix + "encoder.down.0.block.\(vaeLayers).conv1.weight") != nil { vaeLayers += 1 }
        v.blockOutChannels = vaeWidths
        v.layersPerBlock = vaeLayers
        v.latentChannels = try need(vaePrefix + "post_quant_conv.weight", rank: 4)[0]
        v.inChannels = try need(vaePrefix + "encoder.conv_in.weight", rank: 4)[1]
        v.outChannels = try need(vaePrefix + "decoder.conv_out.weight", rank: 4)[0]
        v.midBlockAddAttention = shape(vaePrefix + "decoder.mid.attn_1.q.weight") != nil
        v.scalingFactor = family.latentScalingFactor
        vae = v

        // Text encoders: transformers' CLIP (SD 1.x; SDXL's first) and OpenCLIP towers (SD 2.x; SDXL's second).
        let family = self.family  // the nested readers must not capture self before it is whole
        /// A text tower read through its key map, by transformers' names: the same
        /// reading for transformers' CLIP and OpenCLIP's layout.
        /// - Parameter dropsLastBlock: SD 2 conditions on the penultimate block's output through
        ///   ln_final, which is what diffusers' converted text encoder, one block shorter, gives as its
        ///   last hidden state; SDXL keeps every block and takes hidden_states[-2] itself.
        func textEncoder(_ keyMap: @escaping CheckpointKeyMap.Map, activation: String,
                         dropsLastBlock: Bool = false) throws -> TextEncoder {
            func mapped(_ key: String, rank: Int) throws -> [Int]? {
                guard let stored = keyMap(key).first(where: { file.info($0.name) != nil }),
                      let dimensions = try dims(stored.name, rank: rank) else { return nil }
                return stored.isTransposed ? dimensions.reversed() : dimensions
            }
            func need(_ key: String, rank: Int) throws -> [Int] {
                guard let dimensions = try mapped(key, rank: rank) else {
                    throw ModelLoadError.missingTensor(key: keyMap(key).first?.name ?? key, expectedShape: [], source: path)
                }
                return dimensions
            }
            var c = CLIPTextConfiguration.stableDiffusion15
            let tokens = try need("embeddings.token_embedding.weight", rank: 2)
            (c.vocabSize, c.hiddenSize) = (tokens[0], tokens[1])
            c.maxPositionEmbeddings = try need("embeddings.position_embedding.weight", rank: 2)[0]
            c.intermediateSize = try need("encoder.layers.0.mlp.fc1.weight", rank: 2)[0]
            var layers = 0
            while try mapped("encoder.layers.\(layers).layer_norm1.weight", rank: 1) != nil { layers += 1 }
            guard layers >= (dropsLastBlock ? 2 : 1) else {
                throw ModelLoadError.unrecognisedCheckpoint("\(path): a text encoder with \(layers) layers")
            }
            c.numHiddenLayers = dropsLastBlock ? layers - 1 : layers
            c.hiddenAct = activation
            c.numAttentionHeads = family.textEncoderAttentionHeads(width: c.hiddenSize)
            let projection = dropsLastBlock ? nil : try mapped("text_projection.weight", rank: 2)
            c.projectionDim = projection?[0] ?? c.hiddenSize
            return TextEncoder(configuration: c, keyMap: keyMap, withProjection: projection != nil)
        }
        switch family {
        case .stableDiffusion1:
            let prefix = "cond_stage_model.transformer."
            let nested = shape(prefix + "text_model.embeddings.token_embedding.weight") != nil
            textEncoders = [try textEncoder(CheckpointKeyMap.prefixed(nested ? prefix + "text_model." : prefix),
                                            activation: "quick_gelu")]
        case .stableDiffusion2:
            textEncoders = [try textEncoder(CheckpointKeyMap.openCLIPSingleFile(prefix: "cond_stage_model.model."),
                                            activation: "gelu", dropsLastBlock: true)]
        case .stableDiffusionXL:
            textEncoders = [try textEncoder(CheckpointKeyMap.prefixed("conditioner.embedders.0.transformer.text_model."),
                                            activation: "quick_gelu"),
                            try textEncoder(CheckpointKeyMap.openCLIPSingleFile(prefix: "conditioner.embedders.1.model."),
                                            activation: "gelu")]
        }
    }
}
