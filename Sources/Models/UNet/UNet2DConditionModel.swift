import TensorCore

/// The denoiser of Stable Diffusion: ε(latents, t, text). Layout and weight
/// names follow diffusers' UNet2DConditionModel; activations are NHWC.
public struct UNet2DConditionModel: Sendable {
    public let configuration: UNetConfiguration
    public let timeEmbedding: TimestepEmbedding
    /// SDXL's pooled-text and size conditioning, added to the timestep embedding.
    public let addedEmbedding: TextTimeEmbedding?
    public let convIn: Conv2d
    public let downBlocks: [UNetDownBlock]
    public let midBlock: UNetMidBlock
    public let upBlocks: [UNetUpBlock]
    public let normOut: GroupNorm
    public let convOut: Conv2d

    public init(configuration c: UNetConfiguration, weights w: Weights) throws {
        try c.validate(source: w.source.description)
        configuration = c
        let widths = c.blockOutChannels, layers = c.layersPerBlock, blocks = widths.count
        let heads = c.headsPerBlock, depths = c.transformerDepths
        let embedding = widths[0] * 4
        let (groups, eps) = (c.normNumGroups, c.normEps)

        timeEmbedding = try TimestepEmbedding(w("time_embedding"), channels: widths[0], embedding: embedding,
                                              flipSinToCos: c.flipSinToCos, frequencyShift: c.freqShift)
        if let time = c.additionTimeEmbedDim, let input = c.projectionClassEmbeddingsInputDim, c.addEmbeddingType == "text_time" {
            addedEmbedding = try TextTimeEmbedding(w("add_embedding"), timeChannels: time, inputWidth: input,
                                                   embedding: embedding, flipSinToCos: c.flipSinToCos,
                                                   frequencyShift: c.freqShift)
        } else {
            addedEmbedding = nil
        }
        convIn = try Conv2d(w("conv_in"), input: c.inChannels, output: widths[0], kernel: 3)

        var skipWidths = [widths[0]]
        downBlocks = try (0..<blocks).map { i in
            let input = i == 0 ? widths[0] : widths[i - 1]
            let last = i == blocks - 1
            skipWidths += Array(repeating: widths[i], count: layers + (last ? 0 : 1))
            return try UNetDownBlock(w("down_blocks")(i), input: input, output: widths[i], layers: layers,
                                     attention: c.downBlockTypes[i] == "CrossAttnDownBlock2D" ? (heads[i], depths[i]) : nil,
                                     contextWidth: c.crossAttentionDim, timeEmbedding: embedding,
                                     groups: groups, eps: eps, downsample: !last)
        }
        midBlock = try UNetMidBlock(w("mid_block"), channels: widths[blocks - 1], heads: heads[blocks - 1],
                                    depth: depths[blocks - 1], contextWidth: c.crossAttentionDim,
                                    timeEmbedding: embedding, groups: groups, eps: eps)

        let reversedWidths = Array(widths.reversed())
        let reversedHeads = Array(heads.reversed()), reversedDepths = Array(depths.reversed())
        upBlocks = try (0..<blocks).map { i in
            let popped = (0...layers).map { _ in skipWidths.removeLast() }
            return try UNetUpBlock(w("up_blocks")(i), input: i == 0 ? reversedWidths[0] : reversedWidths[i - 1],
                                   output: reversedWidths[i], skipWidths: popped,
                                   attention: c.upBlockTypes[i] == "CrossAttnUpBlock2D"
                                       ? (reversedHeads[i], reversedDepths[i]) : nil,
                                   contextWidth: c.crossAttentionDim, timeEmbedding: embedding,
                                   groups: groups, eps: eps, upsample: i != blocks - 1)
        }
        normOut = try GroupNorm(w("conv_norm_out"), channels: widths[0], groups: groups, eps: eps)
        convOut = try Conv2d(w("conv_out"), input: widths[0], output: c.outChannels, kernel: 3)
    }

    /// - Parameters:
    ///   - sample: latents [N, H, W, C] (NHWC).
    ///   - timestep: the same timestep for the whole batch, as diffusers broadcasts it.
    ///   - context: text encoder states [N, L, crossAttentionDim].
    ///   - added: the pooled text and size numbers an SDXL-style UNet
    ///     (`addedEmbedding`) needs; ignored by others.
    public func callAsFunction(_ sample: Tensor, timestep: Float, context: Tensor, added: AddedConditions? = nil) -> Tensor {
        let batch = sample.shape[0]
        var emb = timeEmbedding(Array(repeating: timestep, count: batch), backend: sample.backend)
        if let addedEmbedding, let added {
            emb = emb + addedEmbedding(pooled: added.pooled, sizes: added.sizes)
        }
        // Every ResNet applies SiLU to the embedding first: once here serves them all.
        emb = emb.silu()
        var h = convIn(sample)
        var skips = [h]
        for block in downBlocks { h = block(h, timeEmbedding: emb, context: context, skips: &skips) }
        h = midBlock(h, timeEmbedding: emb, context: context)
        for block in upBlocks { h = block(consume h, timeEmbedding: emb, context: context, skips: &skips) }
        return convOut(normOut(h, silu: true))
    }
}
