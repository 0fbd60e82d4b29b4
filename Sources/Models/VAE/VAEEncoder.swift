import TensorCore

/// Pixels to the latent distribution's moments (mean and log-variance
/// concatenated on channels), for img2img.
public struct VAEEncoder: Sendable {
    public let configuration: VAEConfiguration
    public let convIn: Conv2d
    public let downBlocks: [(resnets: [ResnetBlock2D], downsampler: Downsample2D?)]
    public let midBlock: VAEMidBlock
    public let normOut: GroupNorm
    public let convOut: Conv2d
    public let quantConv: Conv2d

    public init(configuration c: VAEConfiguration, weights w: Weights, quant: Weights) throws {
        try c.validate(source: w.source.description)
        configuration = c
        let widths = c.blockOutChannels, groups = c.normNumGroups
        convIn = try Conv2d(w("conv_in"), input: c.inChannels, output: widths[0], kernel: 3)
        downBlocks = try widths.indices.map { i in
            let block = w("down_blocks")(i)
            let input = i == 0 ? widths[0] : widths[i - 1]
            let resnets = try (0..<c.layersPerBlock).map { j in
                try ResnetBlock2D(block("resnets")(j), input: j == 0 ? input : widths[i], output: widths[i],
                                  timeEmbedding: nil, groups: groups, eps: 1e-6)
            }
            let downsampler = i == widths.count - 1 ? nil
                : try Downsample2D(block("downsamplers")(0), channels: widths[i],
                                   padding: ConvPadding(top: 0, left: 0, bottom: 1, right: 1))
            return (resnets, downsampler)
        }
        let top = widths[widths.count - 1]
        midBlock = try VAEMidBlock(w("mid_block"), channels: top, groups: groups, attention: c.midBlockAddAttention)
        normOut = try GroupNorm(w("conv_norm_out"), channels: top, groups: groups, eps: 1e-6)
        convOut = try Conv2d(w("conv_out"), input: top, output: 2 * c.latentChannels, kernel: 3)
        quantConv = try Conv2d(quant, input: 2 * c.latentChannels, output: 2 * c.latentChannels, kernel: 1)
    }

    /// image [N, H, W, inChannels] in [-1, 1] → moments [N, H/f, W/f, 2·latentChannels].
    public func callAsFunction(_ image: Tensor) -> Tensor {
        var h = convIn(image)
        for block in downBlocks {
            for resnet in block.resnets { h = resnet(h) }
            if let downsampler = block.downsampler { h = downsampler(h) }
        }
        return quantConv(convOut(normOut(midBlock(h), silu: true)))
    }
}
