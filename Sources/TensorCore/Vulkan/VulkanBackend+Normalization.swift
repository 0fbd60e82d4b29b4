/// GroupNorm, LayerNorm and softmax: workgroup reductions with subgroup
/// operations (reduce.glsl) where the device has them.
extension VulkanBackend {
    public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool) -> Tensor {
        let channels = x.dim(-1), batch = x.shape[0]
        precondition(x.rank >= 2 && channels % groups == 0, "groupNorm: \(channels) channels in \(groups) groups")
        precondition(weight.count == channels && bias.count == channels, "groupNorm: affine size")
        let input = f32(x)
        let rows = x.count / max(batch * channels, 1)
        let out = makeTensor(x.shape)
        guard x.count > 0 else { return out }
        // Statistics in two passes: runs of ~16K values per workgroup, then
        // one merge per (sample, group), so large images fill the GPU.
        let perGroup = rows * (channels / groups)
        let chunks = max(1, min(256, perGroup / 16384))
        let partial = makeTensor([batch * groups * chunks, 2])
        dispatchRows("group_norm_stats\(subgroupSuffix)",
                     [.read(input.vulkanBuffer, bytes: input.byteCount),
                      .write(partial.vulkanBuffer, bytes: partial.byteCount)],
                     push: [UInt32(size: batch), UInt32(size: rows), UInt32(size: channels), UInt32(size: groups),
                            UInt32(size: chunks)],
                     rows: batch * groups * chunks)
        let stats = makeTensor([batch * groups, 2])
        dispatch1D("group_norm_merge", [.read(partial.vulkanBuffer, bytes: partial.byteCount),
                                        .write(stats.vulkanBuffer, bytes: stats.byteCount)],
                   push: [UInt32(size: batch * groups), UInt32(size: perGroup), UInt32(size: chunks), eps.pushBits],
                   count: batch * groups)
        let (suffix, affine) = weights([weight, bias])
        dispatch1D("group_norm_apply\(suffix)",
                   [.read(input.vulkanBuffer, bytes: input.byteCount), .read(stats.vulkanBuffer, bytes: stats.byteCount),
                    .read(affine[0]!.vulkanBuffer, bytes: affine[0]!.byteCount),
                    .read(affine[1]!.vulkanBuffer, bytes: affine[1]!.byteCount),
                    .write(out.vulkanBuffer, bytes: out.byteCount)],
                   push: [UInt32(size: x.count), UInt32(size: rows), UInt32(size: channels), UInt32(size: groups), silu ? 1 : 0],
                   count: x.count)
        return out
    }

    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        let width = x.dim(-1)
        precondition(weight.count == width && bias.count == width, "layerNorm: affine size")
        let input = f32(x)
        let rows = x.count / max(width, 1)
        let out = makeTensor(x.shape)
        let (suffix, affine) = weights([weight, bias])
        dispatchRows("layer_norm\(suffix)\(subgroupSuffix)",
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
        dispatchRows("softmax\(subgroupSuffix)",
                     [.read(input.vulkanBuffer, bytes: input.byteCount), .write(out.vulkanBuffer, bytes: out.byteCount),
                      .read(dummy, bytes: 0)],
                     push: [UInt32(size: rows), UInt32(size: width), 0, 0, 0, 0], rows: width == 0 ? 0 : rows)
        return out
    }
}
