import SafeTensors

/// Hyperparameters of a single-file checkpoint, read off its tensor names
/// and shapes (such files carry no config); what shapes cannot tell (head
/// counts) comes from the detected `ModelFamily`. The families whose
/// single-file layout sdgen reads are `loadableFamilies`; others get a
/// message naming the family.
public struct SingleFileConfiguration: Sendable {
    public static let loadableFamilies: [ModelFamily] = [.stableDiffusion1, .stableDiffusion2]

    public var family: ModelFamily
    public var unet: UNetConfiguration
    public var vae: VAEConfiguration
    public var clip: CLIPTextConfiguration
    /// Where the text encoder's tensors are, under transformers' names.
    public var clipKeyMap: CheckpointKeyMap.Map

    public init(_ file: SafeTensorsFile) throws {
        let path = file.url.path
        func shape(_ key: String) -> [Int]? { file.info(key)?.shape }
        func need(_ key: String) throws -> [Int] {
            guard let s = shape(key) else {
                throw ModelLoadError.missingTensor(key: key, expectedShape: [], source: path)
            }
            return s
        }

        let known = Self.loadableFamilies.map(\.rawValue).joined(separator: ", ")
        if shape("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight") != nil
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
        let convIn = try need(unetPrefix + "input_blocks.0.0.weight")
        u.inChannels = convIn[1]
        u.outChannels = try need(unetPrefix + "out.2.weight")[0]
        var widths: [Int] = [], attention: [Bool] = [], layers = 0, currentLayers = 0, currentAttention = false
        var n = 1
        while true {
            let base = unetPrefix + "input_blocks.\(n)."
            if let resnet = shape(base + "0.in_layers.2.weight") {
                currentLayers += 1
                if currentLayers == 1 { widths.append(resnet[0]) }
                currentAttention = currentAttention || shape(base + "1.proj_in.weight") != nil
            } else if shape(base + "0.op.weight") != nil {
                layers = currentLayers
                attention.append(currentAttention)
                currentLayers = 0
                currentAttention = false
            } else {
                break
            }
            n += 1
        }
        attention.append(currentAttention)
        if layers == 0 { layers = currentLayers }
        guard !widths.isEmpty, layers > 0 else {
            throw ModelLoadError.unrecognisedCheckpoint("\(path): cannot read the UNet's block structure")
        }
        u.blockOutChannels = widths
        u.layersPerBlock = layers
        u.downBlockTypes = attention.map { $0 ? "CrossAttnDownBlock2D" : "DownBlock2D" }
        u.upBlockTypes = attention.reversed().map { $0 ? "CrossAttnUpBlock2D" : "UpBlock2D" }
        let midProjection = try need(unetPrefix + "middle_block.1.proj_in.weight")
        u.useLinearProjection = midProjection.count == 2
        u.crossAttentionDim = try need(unetPrefix + "middle_block.1.transformer_blocks.0.attn2.to_k.weight")[1]
        u.attentionHeadDim = family.unetAttentionHeads(blockWidths: widths)
        var depth = 0
        while shape(unetPrefix + "middle_block.1.transformer_blocks.\(depth).norm1.weight") != nil { depth += 1 }
        u.transformerLayersPerBlock = .one(max(depth, 1))
        u.sampleSize = family.defaultImageSize / 8
        unet = u

        // VAE: first_stage_model.encoder.down.{i}.block.{j}.
        var v = VAEConfiguration.stableDiffusion15
        let vaePrefix = "first_stage_model."
        var vaeWidths: [Int] = []
        while let conv = shape(vaePrefix + "encoder.down.\(vaeWidths.count).block.0.conv1.weight") { vaeWidths.append(conv[0]) }
        guard !vaeWidths.isEmpty else {
            throw ModelLoadError.missingTensor(key: vaePrefix + "encoder.down.0.block.0.conv1.weight", expectedShape: [],
                                               source: path + " (no VAE in this checkpoint)")
        }
        var vaeLayers = 0
        while shape(vaePrefix + "encoder.down.0.block.\(vaeLayers).conv1.weight") != nil { vaeLayers += 1 }
        v.blockOutChannels = vaeWidths
        v.layersPerBlock = vaeLayers
        v.latentChannels = try need(vaePrefix + "post_quant_conv.weight")[0]
        v.inChannels = try need(vaePrefix + "encoder.conv_in.weight")[1]
        v.outChannels = try need(vaePrefix + "decoder.conv_out.weight")[0]
        v.midBlockAddAttention = shape(vaePrefix + "decoder.mid.attn_1.q.weight") != nil
        vae = v

        // Text encoder: transformers' CLIP (SD 1.x) or an OpenCLIP tower (SD 2.x).
        var c = CLIPTextConfiguration.stableDiffusion15
        if family == .stableDiffusion2 {
            // OpenCLIP ViT-H: gelu, and one block more than SD 2 runs. Its
            // conditioning is the penultimate block's output through ln_final,
            // which is what diffusers' converted 23-block text encoder gives
            // as its last hidden state; the last block is never read.
            let prefix = "cond_stage_model.model."
            let tokens = try need(prefix + "token_embedding.weight")
            c.vocabSize = tokens[0]
            c.hiddenSize = tokens[1]
            c.maxPositionEmbeddings = try need(prefix + "positional_embedding")[0]
            c.intermediateSize = try need(prefix + "transformer.resblocks.0.mlp.c_fc.weight")[0]
            var blocks = 0
            while shape(prefix + "transformer.resblocks.\(blocks).ln_1.weight") != nil { blocks += 1 }
            guard blocks >= 2 else {
                throw ModelLoadError.unrecognisedCheckpoint("\(path): an OpenCLIP text encoder needs at least 2 resblocks, found \(blocks)")
            }
            c.numHiddenLayers = blocks - 1
            c.hiddenAct = "gelu"
            c.projectionDim = shape(prefix + "text_projection")?.last ?? c.hiddenSize
            clipKeyMap = CheckpointKeyMap.openCLIPSingleFile(prefix: prefix)
        } else {
            let prefix = "cond_stage_model.transformer.text_model."
            let tokens = try need(prefix + "embeddings.token_embedding.weight")
            c.vocabSize = tokens[0]
            c.hiddenSize = tokens[1]
            c.maxPositionEmbeddings = try need(prefix + "embeddings.position_embedding.weight")[0]
            c.intermediateSize = try need(prefix + "encoder.layers.0.mlp.fc1.weight")[0]
            var clipLayers = 0
            while shape(prefix + "encoder.layers.\(clipLayers).layer_norm1.weight") != nil { clipLayers += 1 }
            c.numHiddenLayers = clipLayers
            clipKeyMap = CheckpointKeyMap.clipSingleFile
        }
        c.numAttentionHeads = family.textEncoderAttentionHeads(width: c.hiddenSize)
        clip = c
    }
}
