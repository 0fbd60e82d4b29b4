import TensorCore

/// Latents to pixels: post-quant 1×1 conv, conv_in, mid block, up blocks
/// (ResNets then ×2 upsampling), GroupNorm-SiLU, conv_out. Input is the
/// latent already divided by the scaling factor.
public struct VAEDecoder: Sendable {
    public let configuration: VAEConfiguration
    public let postQuantConv: Conv2d
    public let convIn: Conv2d
    public let midBlock: VAEMidBlock
    public let upBlocks: [(resnets: [ResnetBlock2D], upsampler: Upsample2D?)]
    public let normOut: GroupNorm
    public let convOut: Conv2d

    /// - Parameters:
    ///   - w: the decoder's weights ("decoder" in a diffusers VAE).
    ///   - postQuant: the post_quant_conv weights (beside the decoder).
    public init(configuration c: VAEConfiguration, weights w: Weights, postQuant: Weights) throws {
        try c.validate(source: w.source.description)
        configuration = c
        let widths = Array(c.blockOutChannels.reversed()), groups = c.normNumGroups
        postQuantConv = try Conv2d(postQuant, input: c.latentChannels, output: c.latentChannels, kernel: 1)
        convIn = try Conv2d(w("conv_in"), input: c.latentChannels, output: widths[0], kernel: 3)
        midBlock = try VAEMidBlock(w("mid_block"), channels: widths[0], groups: groups, attention: c.midBlockAddAttention)
        upBlocks = try widths.indices.map { i in
            let block = w("up_blocks")(i)
            let input = i == 0 ? widths[0] : widths[i - 1]
            let resnets = try (0...c.layersPerBlock).map { j in
                try ResnetBlock2D(block("resnets")(j), input: j == 0 ? input : widths[i], output: widths[i],
                                  timeEmbedding: nil, groups: groups, eps: 1e-6)
            }
            let upsampler = i == widths.count - 1 ? nil : try Upsample2D(block("upsamplers")(0), channels: widths[i])
            return (resnets, upsampler)
        }
        normOut = try GroupNorm(w("conv_norm_out"), channels: widths[widths.count - 1], groups: groups, eps: 1e-6)
        convOut = try Conv2d(w("conv_out"), input: widths[widths.count - 1], output: c.outChannels, kernel: 3)
    }

    /// latents [N, h, w, latentChannels] → image [N, H, W, outChannels] in about [-1, 1].
    public func callAsFunction(_ latents: Tensor) -> Tensor {
        var h = midBlock(convIn(postQuantConv(latents)))
        for block in upBlocks {
            for resnet in block.resnets { h = resnet(h) }
            if let upsampler = block.upsampler { h = upsampler(h) }
        }
        return convOut(normOut(h, silu: true))
    }
}
