import TensorCore

extension UNet2DConditionModel {
    /// One step of a UNet shaped like `configuration` run on `counter` (its
    /// weights from `weights`, typically random ones made on the counter):
    /// the step's FLOPs, and its working set — the bytes alive at its peak
    /// above what was alive before it (the weights). SDXL's added
    /// conditioning gets zero pooled embeddings and sizes. Benchmarks report
    /// the first; memory admission and the CPU buffer pool size by the second.
    public static func measureStep(_ configuration: UNetConfiguration, weights: Weights, on counter: FLOPCounter,
                                   batch: Int, latentHeight: Int, latentWidth: Int, contextTokens: Int) throws
        -> (flops: Double, workingSetBytes: Int) {
        let unet = try UNet2DConditionModel(configuration: configuration, weights: weights)
        counter.resetPeak()
        let base = counter.liveBytes, before = counter.tally.total
        let added = unet.addedEmbedding.map {
            AddedConditions(pooled: counter.zeros([batch, $0.pooledWidth], dtype: .f32),
                            sizes: Array(repeating: 0, count: batch * TextTimeEmbedding.sizeNumbers))
        }
        _ = unet(counter.zeros([batch, latentHeight, latentWidth, configuration.inChannels], dtype: .f32),
                 timestep: 1,
                 context: counter.zeros([batch, contextTokens, configuration.crossAttentionDim], dtype: .f32),
                 added: added)
        return (counter.tally.total - before, counter.peakBytes - base)
    }
}
