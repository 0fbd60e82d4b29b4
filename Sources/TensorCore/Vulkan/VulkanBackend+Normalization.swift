/// GroupNorm, LayerNorm and softmax: workgroup reductions with subgroup
/// operations (reduce.glsl) where the device has them.
extension VulkanBackend {
    public func groupNorm(_ x: Tensor, offsets: Tensor?, groups: Int, weight: Tensor, bias: Tensor, eps: Float,
                          silu: Bool) -> Tensor {
        let geometry = GroupNormGeometry(input: x.shape, groups: groups, weight: weight.shape, bias: bias.shape,
                                         offsets: offsets?.shape)
        let (batch, rows, channels) = (geometry.batch, geometry.rows, geometry.channels)
        let input = f32(x)
        let out = makeTensor(x.shape)
        guard x.count > 0 else { return out }
        // Offsets (N × C, small) are bound whole and added by both passes as they read x.
        let added = offsets.map(f32)
        let offsetUse = added.map { BufferUse.read($0.vulkanBuffer, bytes: $0.byteCount) } ?? .read(dummy, bytes: 0)
        let hasOffsets: UInt32 = added == nil ? 0 : 1
        // Statistics in two passes: runs of ~16K values per workgroup, then
        // one merge per (sample, group), so large images fill the GPU (one
        // pass where every group is a single run). An
        // input past the binding limit is read in windows of rows per sample,
        // each adding its own runs.
        let whole = input.byteCount <= bindingLimit
        let rowWindows = whole ? [0..<rows] : windows(units: rows, unitBytes: [4 * channels])
        let perGroup = (rowWindows.first?.count ?? rows) * (channels / groups)
        let chunks = max(1, min(256, perGroup / 16384))
        let runsPerWindow = groups * chunks
        let statsPipeline = pipelines.require("group_norm_stats\(subgroupSuffix)")
        let stats = makeTensor([batch * groups, 2])
        // A group that is one run needs no merge: the first pass writes its statistics.
        let final = whole && chunks == 1
        let partial = final ? stats : makeTensor([batch * rowWindows.count * runsPerWindow, 3])
        let partialUse = BufferUse.write(partial.vulkanBuffer, bytes: partial.byteCount)
        if whole {
            dispatchRows(statsPipeline, [.read(input.vulkanBuffer, bytes: input.byteCount), partialUse, offsetUse],
                         push: [UInt32(size: batch), UInt32(size: rows), UInt32(size: channels), UInt32(size: groups),
                                UInt32(size: chunks), 0, 0, hasOffsets, 0, final ? 1 : 0, eps.pushBits],
                         rows: batch * runsPerWindow)
        } else {
            for sample in 0..<batch {
                for (w, window) in rowWindows.enumerated() {
                    let x = self.window(input.vulkanBuffer, from: (sample * rows + window.lowerBound) * channels,
                                        count: window.count * channels, write: false)
                    dispatchRows(statsPipeline, [x.use, partialUse, offsetUse],
                                 push: [1, UInt32(size: window.count), UInt32(size: channels), UInt32(size: groups),
                                        UInt32(size: chunks), UInt32(size: (sample * rowWindows.count + w) * runsPerWindow),
                                        UInt32(size: x.skip), hasOffsets, UInt32(size: sample * channels), 0,
                                        eps.pushBits],
                                 rows: runsPerWindow)
                }
            }
        }
        if !final {
            dispatch1D("group_norm_merge", [.read(partial.vulkanBuffer, bytes: partial.byteCount),
                                            .write(stats.vulkanBuffer, bytes: stats.byteCount)],
                       push: [UInt32(size: batch * groups), UInt32(size: groups), UInt32(size: chunks),
                              UInt32(size: rowWindows.count), eps.pushBits],
                       count: batch * groups)
        }
        let (suffix, affine) = weights([weight, bias])
        for w in windows(units: x.count, unitBytes: [4, 4]) {
            dispatch1D("group_norm_apply\(suffix)",
                       [window(input.vulkanBuffer, w, unitBytes: 4, write: false),
                        .read(stats.vulkanBuffer, bytes: stats.byteCount),
                        .read(affine[0]!.vulkanBuffer, bytes: affine[0]!.byteCount),
                        .read(affine[1]!.vulkanBuffer, bytes: affine[1]!.byteCount),
                        window(out.vulkanBuffer, w, unitBytes: 4, write: true), offsetUse],
                       push: [UInt32(size: w.count), UInt32(size: rows), UInt32(size: channels), UInt32(size: groups),
                              silu ? 1 : 0, UInt32(size: w.lowerBound), hasOffsets],
                       count: w.count)
        }
        return out
    }

    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        let width = x.dim(-1)
        precondition(weight.count == width && bias.count == width, "layerNorm: affine size")
        let input = f32(x)
        let rows = x.count / max(width, 1)
        let out = makeTensor(x.shape)
        let (suffix, affine) = weights([weight, bias])
        dispatchRows(rowReduction("layer_norm\(suffix)\(subgroupSuffix)", width: width),
                     [.read(input.vulkanBuffer, bytes: input.byteCount),
                      .read(affine[0]!.vulkanBuffer, bytes: affine[0]!.byteCount),
                      .read(affine[1]!.vulkanBuffer, bytes: affine[1]!.byteCount),
                      .write(out.vulkanBuffer, bytes: out.byteCount)],
                     push: [UInt32(size: rows), UInt32(size: width), eps.pushBits], rows: width == 0 ? 0 : rows)
        return out
    }

    public func softmax(_ x: Tensor) -> Tensor {
        let width = x.dim(-1), rows = x.count / max(width, 1)
        let input = f32(x)
        let out = makeTensor(x.shape)
        dispatchRows(rowReduction("softmax\(subgroupSuffix)", width: width),
                     [.read(input.vulkanBuffer, bytes: input.byteCount), .write(out.vulkanBuffer, bytes: out.byteCount),
                      .read(dummy, bytes: 0)],
                     push: [UInt32(size: rows), UInt32(size: width), 0, 0, 0, 0], rows: width == 0 ? 0 : rows)
        return out
    }
}
