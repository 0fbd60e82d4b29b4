import TensorCore

/// CrossAttnDownBlock2D / DownBlock2D: ResNet blocks, each optionally
/// followed by a spatial transformer, then an optional downsampler. Every
/// intermediate output is kept for the up path's skip connections.
public struct UNetDownBlock: Sendable {
    public let resnets: [ResnetBlock2D]
    public let attentions: [Transformer2DModel]
    public let downsampler: Downsample2D?

    init(_ w: Weights, input: Int, output: Int, layers: Int, attention: (heads: Int, depth: Int)?,
         contextWidth: Int, timeEmbedding: Int, groups: Int, eps: Float, downsample: Bool) throws {
        resnets = try (0..<layers).map { i in
            try ResnetBlock2D(w("resnets")(i), input: i == 0 ? input : output, output: output,
                              timeEmbedding: timeEmbedding, groups: groups, eps: eps)
        }
        attentions = try attention.map { attention in
            try (0..<layers).map { i in
                try Transformer2DModel(w("attentions")(i), channels: output, heads: attention.heads,
                                       depth: attention.depth, contextWidth: contextWidth, groups: groups)
            }
        } ?? []
        downsampler = downsample ? try Downsample2D(w("downsamplers")(0), channels: output) : nil
    }

    func callAsFunction(_ x: Tensor, timeEmbedding: Tensor, context: Tensor, skips: inout [Tensor]) -> Tensor {
        var h = x
        for (i, resnet) in resnets.enumerated() {
            h = resnet(h, timeEmbedding: timeEmbedding)
            if !attentions.isEmpty { h = attentions[i](h, context: context) }
            skips.append(h)
        }
        if let downsampler {
            h = downsampler(h)
            skips.append(h)
        }
        return h
    }
}

/// UNetMidBlock2DCrossAttn: ResNet, spatial transformer, ResNet.
public struct UNetMidBlock: Sendable {
    public let resnet1: ResnetBlock2D
    public let attention: Transformer2DModel
    public let resnet2: ResnetBlock2D

    init(_ w: Weights, channels: Int, heads: Int, depth: Int, contextWidth: Int,
         timeEmbedding: Int, groups: Int, eps: Float) throws {
        resnet1 = try ResnetBlock2D(w("resnets.0"), input: channels, output: channels,
                                    timeEmbedding: timeEmbedding, groups: groups, eps: eps)
        attention = try Transformer2DModel(w("attentions.0"), channels: channels, heads: heads, depth: depth,
                                           contextWidth: contextWidth, groups: groups)
        resnet2 = try ResnetBlock2D(w("resnets.1"), input: channels, output: channels,
                                    timeEmbedding: timeEmbedding, groups: groups, eps: eps)
    }

    func callAsFunction(_ x: Tensor, timeEmbedding: Tensor, context: Tensor) -> Tensor {
        resnet2(attention(resnet1(x, timeEmbedding: timeEmbedding), context: context), timeEmbedding: timeEmbedding)
    }
}

/// CrossAttnUpBlock2D / UpBlock2D: one more ResNet than the down block, each
/// fed the current features concatenated with a skip connection.
public struct UNetUpBlock: Sendable {
    public let resnets: [ResnetBlock2D]
    public let attentions: [Transformer2DModel]
    public let upsampler: Upsample2D?

    /// - Parameter skipWidths: channel counts of the skips this block pops, in pop order.
    init(_ w: Weights, input: Int, output: Int, skipWidths: [Int], attention: (heads: Int, depth: Int)?,
         contextWidth: Int, timeEmbedding: Int, groups: Int, eps: Float, upsample: Bool) throws {
        resnets = try skipWidths.enumerated().map { i, skip in
            try ResnetBlock2D(w("resnets")(i), input: (i == 0 ? input : output) + skip, output: output,
                              timeEmbedding: timeEmbedding, groups: groups, eps: eps)
        }
        attentions = try attention.map { attention in
            try (0..<skipWidths.count).map { i in
                try Transformer2DModel(w("attentions")(i), channels: output, heads: attention.heads,
                                       depth: attention.depth, contextWidth: contextWidth, groups: groups)
            }
        } ?? []
        upsampler = upsample ? try Upsample2D(w("upsamplers")(0), channels: output) : nil
    }

    /// Takes `x` (and each `h` it concatenates) by value, so neither stays
    /// alive beside the wider concatenation: at 64×64 with guidance that is
    /// 21 MB of a step's peak.
    func callAsFunction(_ x: consuming Tensor, timeEmbedding: Tensor, context: Tensor, skips: inout [Tensor]) -> Tensor {
        var h = consume x
        for (i, resnet) in resnets.enumerated() {
            h = resnet(Tensor.concat([consume h, skips.removeLast()], axis: -1), timeEmbedding: timeEmbedding)
            if !attentions.isEmpty { h = attentions[i](h, context: context) }
        }
        // To the size of the skip the next block takes first: twice this
        // one's unless a side was odd on the way down.
        guard let upsampler else { return h }
        return upsampler(h, size: skips.last.map { (height: $0.shape[1], width: $0.shape[2]) })
    }
}
