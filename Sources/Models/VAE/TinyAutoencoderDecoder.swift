import Foundation
import SafeTensors
import TensorCore

/// TAESD's decoder (diffusers' `DecoderTiny`): a soft clamp of the latents,
/// conv-ReLU, then per stage its residual blocks, a ×2 nearest upsampling
/// (all but the last stage) and a conv (bias only on the last, to the image
/// channels), mapped from [0, 1] to diffusers' [-1, 1]. No normalisation and
/// no attention: a 512² image is ~1/60 of the full VAE's work.
public struct TinyAutoencoderDecoder: Sendable {
    public let configuration: TinyAutoencoderConfiguration
    /// In `layers` order: the first conv, then each stage's blocks, upsampling and conv.
    private let first: Conv2d
    private let stages: [(blocks: [TinyAutoencoderBlock], upsample: Bool, conv: Conv2d)]

    /// - Parameter w: the decoder's weights ("decoder" in a diffusers AutoencoderTiny),
    ///   numbered as `nn.Sequential` numbers `layers` (activations and upsamplings take indices too).
    public init(configuration c: TinyAutoencoderConfiguration, weights w: Weights) throws {
        try c.validate(source: w.source.description)
        configuration = c
        let layers = w("layers")
        let widths = c.decoderBlockOutChannels
        first = try Conv2d(layers(0), input: c.latentChannels, output: widths[0], kernel: 3)
        var index = 2  // layers.1 is the ReLU
        var stages: [(blocks: [TinyAutoencoderBlock], upsample: Bool, conv: Conv2d)] = []
        var input = widths[0]
        for (i, width) in widths.enumerated() {
            let last = i == widths.count - 1
            var blocks: [TinyAutoencoderBlock] = []
            for _ in 0..<c.numDecoderBlocks[i] {
                blocks.append(try TinyAutoencoderBlock(layers(index), input: input, output: width))
                input = width
                index += 1
            }
            if !last { index += 1 }  // nn.Upsample
            let conv = try Conv2d(layers(index), input: width, output: last ? c.outChannels : width, kernel: 3, bias: last)
            index += 1
            input = conv.outputChannels
            stages.append((blocks, !last, conv))
        }
        self.stages = stages
    }

    /// latents [N, h, w, latentChannels] (already ÷ scaling factor) → image
    /// [N, H, W, outChannels] in about [-1, 1].
    public func callAsFunction(_ latents: Tensor) -> Tensor {
        // tanh(x / 3) · 3: DecoderTiny's clamp of out-of-range latents.
        var h = latents.affine(scale: 1.0 / 3, shift: 0).activation(.tanh).affine(scale: 3, shift: 0)
        h = first(h).activation(.relu)
        for stage in stages {
            for block in stage.blocks { h = block(h) }
            if stage.upsample { h = h.upsampleNearest2x() }
            h = stage.conv(h)
        }
        return h.affine(scale: 2, shift: -1)
    }
}

/// `AutoencoderTinyBlock`: ReLU(conv-ReLU-conv-ReLU-conv(x) + skip(x)), the
/// skip a bias-free 1×1 conv where the width changes.
struct TinyAutoencoderBlock: Sendable {
    let convs: [Conv2d]
    let skip: Conv2d?

    init(_ w: Weights, input: Int, output: Int) throws {
        let conv = w("conv")
        convs = try [0, 2, 4].enumerated().map { i, index in
            try Conv2d(conv(index), input: i == 0 ? input : output, output: output, kernel: 3)
        }
        skip = input == output ? nil : try Conv2d(w("skip"), input: input, output: output, kernel: 1, bias: false)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = convs[2](convs[1](convs[0](x).activation(.relu)).activation(.relu))
        return (h + (skip?(x) ?? x)).activation(.relu)
    }
}

extension TinyAutoencoderDecoder {
    /// The decoder of a diffusers `AutoencoderTiny` folder (config.json and
    /// diffusion_pytorch_model[.fp16].safetensors), as `madebyollin/taesd` ships it.
    public init(folder: URL, backend: any Backend, dtype: DType? = nil) throws {
        let config = folder.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: config.path) else {
            throw ModelLoadError.unrecognisedCheckpoint(
                "\(folder.path): not a tiny autoencoder folder (no config.json); get one with `sdgen download madebyollin/taesd`")
        }
        let configuration = try TinyAutoencoderConfiguration.load(config)
        let file = try DiffusersFolder.weights(in: folder, base: "diffusion_pytorch_model")
        let source = WeightSource(files: [file], backend: backend, dtype: dtype)
        try self.init(configuration: configuration, weights: source.root("decoder"))
    }
}
