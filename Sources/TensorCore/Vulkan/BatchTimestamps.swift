import CVulkan

/// Timestamps around every command of one batch while `--profile` is on: the
/// batch writes one when it starts and one after each command, and a barrier
/// goes before every command, so each difference is one command's time on
/// the GPU alone (profiled runs are a little slower than normal ones).
final class BatchTimestamps {
    /// Queries per batch; a batch that fills them is submitted.
    static let capacity = 512

    struct Stamp {
        let kind: OpProfile.Kind
        let label: String
        let flops: Double
    }

    let pool: VkQueryPool
    /// What ended at query i + 1 (query 0 is the batch's start).
    private(set) var stamps: [Stamp] = []
    var isFull: Bool { stamps.count + 1 >= Self.capacity }

    init(device: VulkanDevice) throws {
        var info = VkQueryPoolCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO
        info.queryType = VK_QUERY_TYPE_TIMESTAMP
        info.queryCount = UInt32(Self.capacity)
        var pool: VkQueryPool?
        try check(device.f.createQueryPool(device.device, &info, nil, &pool), "vkCreateQueryPool")
        self.pool = pool!
    }

    /// Resets the queries and writes the start stamp into `commandBuffer`.
    func begin(_ commandBuffer: VkCommandBuffer, _ f: DeviceFunctions) {
        stamps.removeAll(keepingCapacity: true)
        f.cmdResetQueryPool(commandBuffer, pool, 0, UInt32(Self.capacity))
        f.cmdWriteTimestamp(commandBuffer, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, 0)
    }

    /// Marks the end of the command just recorded.
    func stamp(_ commandBuffer: VkCommandBuffer, _ f: DeviceFunctions, _ stamp: Stamp) {
        stamps.append(stamp)
        f.cmdWriteTimestamp(commandBuffer, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, UInt32(stamps.count))
    }

    /// Once the batch has completed: each command's time into `profiler`.
    func collect(_ device: VulkanDevice, into profiler: OpProfiler) {
        guard !stamps.isEmpty else { return }
        var ticks = [UInt64](repeating: 0, count: stamps.count + 1)
        let flags = VK_QUERY_RESULT_64_BIT.rawValue | VK_QUERY_RESULT_WAIT_BIT.rawValue
        let result = ticks.withUnsafeMutableBytes { raw in
            device.f.getQueryPoolResults(device.device, pool, 0, UInt32(raw.count / 8), raw.count, raw.baseAddress, 8, flags)
        }
        guard result == VK_SUCCESS else { return }
        let mask: UInt64 = device.timestampBits >= 64 ? .max : (1 << UInt64(device.timestampBits)) - 1
        for (i, stamp) in stamps.enumerated() {
            let elapsed = (ticks[i + 1] &- ticks[i]) & mask
            profiler.record(stamp.kind, stamp.label, seconds: Double(elapsed) * device.timestampPeriod / 1e9,
                            flops: stamp.flops)
        }
        stamps.removeAll(keepingCapacity: true)
    }

    func destroy(_ device: VulkanDevice) {
        device.f.destroyQueryPool(device.device, pool, nil)
    }
}

extension ComputePipeline {
    /// The `--profile` kind of this kernel's dispatches.
    var profileKind: OpProfile.Kind {
        if name.hasPrefix("gemm") { return name.contains("_conv") ? .convolutions : .matrixProducts }
        if name.hasPrefix("attention") || name.hasPrefix("softmax") { return .attention }
        if name.contains("norm") { return .norms }
        for prefix in ["copy", "permute", "convert", "upsample", "embedding"] where name.hasPrefix(prefix) {
            return .copies
        }
        return .elementwise
    }
}
