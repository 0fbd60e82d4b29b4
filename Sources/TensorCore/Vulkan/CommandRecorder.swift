import CVulkan
import Foundation

/// A buffer as one dispatch or copy uses it.
struct BufferUse {
    let buffer: VkBuffer
    /// Bytes the op touches from `offset` on; a dispatch binds the buffer
    /// from `offset` to its end, capped at the device's storage-buffer range.
    let bytes: Int
    let capacity: Int
    /// Where the binding starts: 0, or a window of a tensor past the range
    /// (a multiple of the device's offset alignment).
    let offset: Int
    let write: Bool
    /// Set for pool buffers, to stamp the batch that last used them.
    let owner: PooledBuffer?

    init(buffer: VkBuffer, bytes: Int, capacity: Int? = nil, offset: Int = 0, write: Bool, owner: PooledBuffer?) {
        self.buffer = buffer
        self.bytes = bytes
        self.capacity = capacity ?? bytes
        self.offset = offset
        self.write = write
        self.owner = owner
    }

    static func read(_ b: PooledBuffer, bytes: Int? = nil, offset: Int = 0) -> BufferUse {
        BufferUse(buffer: b.buffer, bytes: bytes ?? b.capacity, capacity: b.capacity, offset: offset, write: false, owner: b)
    }

    static func write(_ b: PooledBuffer, bytes: Int? = nil, offset: Int = 0) -> BufferUse {
        BufferUse(buffer: b.buffer, bytes: bytes ?? b.capacity, capacity: b.capacity, offset: offset, write: true, owner: b)
    }
}

/// Records every op into command buffers and decides when the GPU must wait
/// and when the host must.
///
/// - Barriers: the recorder remembers which buffers were read and written
///   since the last barrier; a dispatch or copy that reads a buffer written
///   since then, or writes one read or written since then, gets one global
///   memory barrier first. Independent ops (the q, k, v projections; the
///   two inputs of a residual add) therefore run without barriers between
///   them. Each command buffer starts with a barrier, which orders it after
///   everything submitted before it on the queue.
/// - Submission: a batch is submitted after `dispatchesPerBatch` dispatches
///   (so the GPU starts while the host records on) — `dispatchesWhenIdle`
///   if nothing was in flight when it opened, so an idle GPU starts after
///   ~30 µs of recording rather than ~0.2 ms —, when its descriptor pool is
///   full, or when the host must read. Each batch has a fence and a
///   serial number; the host waits on a fence only to read a result
///   (`download`), on `synchronize`, or when too many batches or staging
///   bytes are in flight. There is no fence per op.
/// - Staging: uploads are copied into host-visible chunks and a copy is
///   recorded; a chunk is reused once the batch that read it has completed.
final class CommandRecorder: @unchecked Sendable {
    static let dispatchesPerBatch = 64
    static let dispatchesWhenIdle = 8
    static let setsPerBatch = 256
    static let maxBatchesInFlight = 16
    static let stagingChunkBytes = 32 << 20
    static let maxStagingChunks = 4
    static let maxOneOffStagingBytes = 512 << 20

    private final class Batch {
        let commandBuffer: VkCommandBuffer
        let fence: VkFence
        let descriptorPool: VkDescriptorPool
        var serial: UInt64 = 0
        var sets = 0
        var dispatches = 0
        /// Dispatches after which it is submitted (`dispatchesPerBatch`, fewer when the GPU was idle).
        var dispatchLimit = CommandRecorder.dispatchesPerBatch
        var oneOffStaging: [RawBuffer] = []
        /// Present once the batch was recorded while profiling; `timed` while it is.
        var timestamps: BatchTimestamps?
        var timed = false

        init(commandBuffer: VkCommandBuffer, fence: VkFence, descriptorPool: VkDescriptorPool) {
            self.commandBuffer = commandBuffer
            self.fence = fence
            self.descriptorPool = descriptorPool
        }
    }

    private struct StagingChunk {
        let raw: RawBuffer
        var used = 0
        var serial: UInt64 = 0
    }

    private let device: VulkanDevice
    private let commandPool: VkCommandPool
    private let maxRange: Int
    private let lock = NSLock()

    private var current: Batch?
    private var inFlight: [Batch] = []
    private var spare: [Batch] = []
    private var nextSerial: UInt64 = 1
    private var completed: UInt64 = 0
    private var readSinceBarrier = Set<OpaquePointer>()
    private var writtenSinceBarrier = Set<OpaquePointer>()
    private var chunks: [StagingChunk] = []
    private var activeChunk: Int?
    private var oneOffBytesInFlight = 0
    private var readback: RawBuffer?
    /// Receives each command's GPU time while `--profile` is on.
    private var profiler: OpProfiler?

    /// Counters for tests, `bench` and `docs/vulkan.md`'s claims.
    private(set) var counters = CommandStatistics()

    /// `bindingLimit`: the most bytes one binding spans (the device's
    /// storage-buffer range, or less when a test forces windows).
    init(device: VulkanDevice, bindingLimit: Int) throws {
        self.device = device
        maxRange = bindingLimit
        var info = VkCommandPoolCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue
        info.queueFamilyIndex = device.queueFamily
        var pool: VkCommandPool?
        try check(device.f.createCommandPool(device.device, &info, nil, &pool), "vkCreateCommandPool")
        commandPool = pool!
    }

    /// The serial of the newest batch known to have completed.
    var completedSerial: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return completed
    }

    var statistics: CommandStatistics {
        lock.lock()
        defer { lock.unlock() }
        return counters
    }

    // MARK: Recording

    /// Runs `body` with the lock held, adding its host time, less any fence
    /// waits inside it, to `recordingSeconds`.
    private func recording<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        let start = DispatchTime.now().uptimeNanoseconds, waitedBefore = counters.waitSeconds
        defer {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            counters.recordingSeconds += elapsed - (counters.waitSeconds - waitedBefore)
        }
        return try body()
    }

    /// Records one dispatch of `pipeline` over `groups` workgroups.
    /// When profiling, its time is recorded under `label` (default: the
    /// kernel's name) and `kind` (default: the kernel's).
    func dispatch(_ pipeline: ComputePipeline, _ uses: [BufferUse], push: [UInt32],
                  groups: (Int, Int, Int), kind: OpProfile.Kind? = nil, label: (() -> String)? = nil,
                  flops: Double = 0) {
        precondition(uses.count == pipeline.bindings, "\(pipeline.name): \(uses.count) buffers for \(pipeline.bindings) bindings")
        precondition(push.count * 4 <= ComputePipeline.pushConstantBytes, "\(pipeline.name): push constants too large")
        guard groups.0 > 0 && groups.1 > 0 && groups.2 > 0 else { return }
        recording { record(pipeline, uses, push: push, groups: groups, kind: kind, label: label, flops: flops) }
    }

    private func record(_ pipeline: ComputePipeline, _ uses: [BufferUse], push: [UInt32], groups: (Int, Int, Int),
                        kind: OpProfile.Kind?, label: (() -> String)?, flops: Double) {
        var batch = openBatch()
        if batch.sets >= Self.setsPerBatch {
            submitLocked()
            batch = openBatch()
        }
        let f = device.f
        hazardCheck(uses, batch)

        // Descriptor set from the batch's pool.
        var set: VkDescriptorSet?
        var setLayout: VkDescriptorSetLayout? = pipeline.setLayout
        withUnsafePointer(to: &setLayout) { layoutPointer in
            var info = VkDescriptorSetAllocateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
            info.descriptorPool = batch.descriptorPool
            info.descriptorSetCount = 1
            info.pSetLayouts = layoutPointer
            mustSucceed(f.allocateDescriptorSets(device.device, &info, &set), "vkAllocateDescriptorSets")
        }
        batch.sets += 1
        var infos = uses.map { use -> VkDescriptorBufferInfo in
            // Ops split what is larger (VulkanBackend+Windows.swift) and admission refuses what they cannot.
            precondition(use.bytes <= maxRange, "Vulkan: \(pipeline.name) binds \(use.bytes) bytes, above \(device.info.name)'s " +
                         "\(maxRange)-byte storage-buffer range")
            return VkDescriptorBufferInfo(buffer: use.buffer, offset: VkDeviceSize(use.offset),
                                          range: VkDeviceSize(min(use.capacity - use.offset, maxRange)))
        }
        infos.withUnsafeMutableBufferPointer { bufferInfos in
            var writes = (0..<bufferInfos.count).map { i -> VkWriteDescriptorSet in
                var w = VkWriteDescriptorSet()
                w.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                w.dstSet = set
                w.dstBinding = UInt32(i)
                w.descriptorCount = 1
                w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                w.pBufferInfo = UnsafePointer(bufferInfos.baseAddress! + i)
                return w
            }
            f.updateDescriptorSets(device.device, UInt32(writes.count), &writes, 0, nil)
        }
        let cb = batch.commandBuffer
        f.cmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.pipeline)
        f.cmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout, 0, 1, &set, 0, nil)
        if !push.isEmpty {
            push.withUnsafeBytes { bytes in
                f.cmdPushConstants(cb, pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT.rawValue, 0,
                                    UInt32(bytes.count), bytes.baseAddress)
            }
        }
        f.cmdDispatch(cb, UInt32(groups.0), UInt32(groups.1), UInt32(groups.2))
        for use in uses { use.owner?.lastUse = batch.serial }
        batch.dispatches += 1
        counters.dispatches += 1
        if batch.timed {
            stampLocked(batch, kind ?? pipeline.profileKind, label?() ?? pipeline.name, flops: flops)
        }
        if batch.dispatches >= batch.dispatchLimit { submitLocked() }
    }

    /// Records a buffer-to-buffer copy.
    func copy(from source: BufferUse, sourceOffset: Int, to destination: BufferUse, destinationOffset: Int, bytes: Int) {
        guard bytes > 0 else { return }
        recording {
            let batch = openBatch()
            hazardCheck([source, destination], batch)
            var region = VkBufferCopy(srcOffset: VkDeviceSize(sourceOffset), dstOffset: VkDeviceSize(destinationOffset),
                                      size: VkDeviceSize(bytes))
            device.f.cmdCopyBuffer(batch.commandBuffer, source.buffer, destination.buffer, 1, &region)
            source.owner?.lastUse = batch.serial
            destination.owner?.lastUse = batch.serial
            if batch.timed { stampLocked(batch, .copies, "buffer copy") }
        }
    }

    /// Records a fill of the first `bytes` (a multiple of 4) with a 32-bit pattern.
    func fill(_ destination: BufferUse, bytes: Int, value: UInt32 = 0) {
        guard bytes > 0 else { return }
        recording {
            let batch = openBatch()
            hazardCheck([destination], batch)
            device.f.cmdFillBuffer(batch.commandBuffer, destination.buffer, 0, VkDeviceSize((bytes + 3) / 4 * 4), value)
            destination.owner?.lastUse = batch.serial
            if batch.timed { stampLocked(batch, .copies, "buffer fill") }
        }
    }

    /// Copies host bytes into a staging area and records their copy into
    /// `destination` at `offset`. Never waits unless staging memory is full.
    func upload(_ bytes: Int, into destination: BufferUse, offset: Int = 0,
                fill: (UnsafeMutableRawPointer) -> Void) throws {
        guard bytes > 0 else { return }
        try recording {
            let (stagingBuffer, stagingOffset, pointer) = try stageLocked(bytes)
            fill(pointer)
            let batch = openBatch()
            let source = BufferUse(buffer: stagingBuffer, bytes: bytes, write: false, owner: nil)
            hazardCheck([source, destination], batch)
            var region = VkBufferCopy(srcOffset: VkDeviceSize(stagingOffset), dstOffset: VkDeviceSize(offset),
                                      size: VkDeviceSize(bytes))
            device.f.cmdCopyBuffer(batch.commandBuffer, stagingBuffer, destination.buffer, 1, &region)
            destination.owner?.lastUse = batch.serial
            if batch.timed { stampLocked(batch, .copies, "upload") }
        }
    }

    /// Copies `bytes` of `source` to the host: records the copy, submits,
    /// waits for it, and hands `read` the mapped bytes.
    func download<R>(_ source: BufferUse, bytes: Int, _ read: (UnsafeRawPointer) -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        if readback.map({ $0.bytes < bytes }) ?? true {
            if let old = readback {
                waitAllLocked()
                device.destroy(old)
            }
            readback = try device.makeBuffer(bytes: max(bytes, 1 << 20), memoryType: device.readbackMemoryType, mapped: true)
        }
        let target = readback!
        if bytes > 0 {
            let batch = openBatch()
            let destination = BufferUse(buffer: target.buffer, bytes: target.bytes, write: true, owner: nil)
            hazardCheck([source, destination], batch)
            var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: VkDeviceSize(bytes))
            device.f.cmdCopyBuffer(batch.commandBuffer, source.buffer, target.buffer, 1, &region)
            source.owner?.lastUse = batch.serial
            if batch.timed { stampLocked(batch, .copies, "download") }
            // Make the copy visible to the host once the fence signals.
            var barrier = VkMemoryBarrier()
            barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
            barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
            barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT.rawValue
            device.f.cmdPipelineBarrier(batch.commandBuffer, VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue,
                                         VK_PIPELINE_STAGE_HOST_BIT.rawValue, 0, 1, &barrier, 0, nil, 0, nil)
        }
        waitAllLocked()
        return read(UnsafeRawPointer(target.mapped!))
    }

    /// Submits what is recorded and waits for all of it.
    func synchronize() {
        lock.lock()
        defer { lock.unlock() }
        waitAllLocked()
    }

    /// Starts or stops GPU timestamps (`--profile`): what is recorded so far
    /// finishes first (its times reach the old profiler), so a profile holds
    /// only the commands recorded while it was on. Returns the old profiler.
    /// A queue that writes no timestamps keeps none.
    @discardableResult
    func swapProfiler(_ newProfiler: OpProfiler?) -> OpProfiler? {
        lock.lock()
        defer { lock.unlock() }
        waitAllLocked()
        let old = profiler
        profiler = device.timestampBits > 0 ? newProfiler : nil
        return old
    }

    /// Submits what is recorded without waiting.
    func flush() {
        lock.lock()
        defer { lock.unlock() }
        submitLocked()
    }

    // MARK: Internals (lock held)

    private func hazardCheck(_ uses: [BufferUse], _ batch: Batch) {
        // Profiled commands run one at a time, so each timestamp difference is one command's.
        var hazard = batch.timed
        for use in uses {
            if writtenSinceBarrier.contains(use.buffer) || (use.write && readSinceBarrier.contains(use.buffer)) {
                hazard = true
                break
            }
        }
        if hazard { barrierLocked(batch) }
        for use in uses {
            if use.write { writtenSinceBarrier.insert(use.buffer) } else { readSinceBarrier.insert(use.buffer) }
        }
    }

    private func barrierLocked(_ batch: Batch) {
        var barrier = VkMemoryBarrier()
        barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
            | VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        let stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        device.f.cmdPipelineBarrier(batch.commandBuffer, stages, stages, 0, 1, &barrier, 0, nil, 0, nil)
        readSinceBarrier.removeAll(keepingCapacity: true)
        writtenSinceBarrier.removeAll(keepingCapacity: true)
        counters.barriers += 1
    }

    private func openBatch() -> Batch {
        if let current {
            // A profiled batch with no query left for another command goes now.
            guard current.timed, current.timestamps?.isFull == true else { return current }
            submitLocked()
        }
        pollLocked()
        if inFlight.count >= Self.maxBatchesInFlight { waitLocked(upTo: inFlight[0].serial) }
        let batch = spare.popLast() ?? makeBatch()
        // An idle GPU (after a download, at a step's start) gets work after a
        // few dispatches instead of waiting while the host records a whole batch.
        batch.dispatchLimit = inFlight.isEmpty ? Self.dispatchesWhenIdle : Self.dispatchesPerBatch
        batch.serial = nextSerial
        nextSerial += 1
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue
        mustSucceed(device.f.beginCommandBuffer(batch.commandBuffer, &begin), "vkBeginCommandBuffer")
        current = batch
        // Order this batch after everything submitted before it.
        barrierLocked(batch)
        batch.timed = false
        if profiler != nil {
            if batch.timestamps == nil { batch.timestamps = try? BatchTimestamps(device: device) }
            if let timestamps = batch.timestamps {
                timestamps.begin(batch.commandBuffer, device.f)
                batch.timed = true
            }
        }
        return batch
    }

    private func makeBatch() -> Batch {
        let f = device.f, d = device.device
        var allocate = VkCommandBufferAllocateInfo()
        allocate.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        allocate.commandPool = commandPool
        allocate.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        allocate.commandBufferCount = 1
        var cb: VkCommandBuffer?
        mustSucceed(f.allocateCommandBuffers(d, &allocate, &cb), "vkAllocateCommandBuffers")
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence?
        mustSucceed(f.createFence(d, &fenceInfo, nil, &fence), "vkCreateFence")
        var size = VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: UInt32(Self.setsPerBatch * 6))
        var poolInfo = VkDescriptorPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
        poolInfo.maxSets = UInt32(Self.setsPerBatch)
        poolInfo.poolSizeCount = 1
        var pool: VkDescriptorPool?
        withUnsafePointer(to: &size) { sizePointer in
            poolInfo.pPoolSizes = sizePointer
            mustSucceed(f.createDescriptorPool(d, &poolInfo, nil, &pool), "vkCreateDescriptorPool")
        }
        return Batch(commandBuffer: cb!, fence: fence!, descriptorPool: pool!)
    }

    private func stampLocked(_ batch: Batch, _ kind: OpProfile.Kind, _ label: String, flops: Double = 0) {
        guard let timestamps = batch.timestamps else { return }
        timestamps.stamp(batch.commandBuffer, device.f, .init(kind: kind, label: label, flops: flops))
    }

    private func submitLocked() {
        guard let batch = current else { return }
        current = nil
        mustSucceed(device.f.endCommandBuffer(batch.commandBuffer), "vkEndCommandBuffer")
        var cb: VkCommandBuffer? = batch.commandBuffer
        withUnsafePointer(to: &cb) { cbPointer in
            var submit = VkSubmitInfo()
            submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
            submit.commandBufferCount = 1
            submit.pCommandBuffers = cbPointer
            mustSucceed(device.f.queueSubmit(device.queue, 1, &submit, batch.fence), "vkQueueSubmit")
        }
        inFlight.append(batch)
        counters.submissions += 1
        // The next batch starts with a barrier; nothing carries over.
        readSinceBarrier.removeAll(keepingCapacity: true)
        writtenSinceBarrier.removeAll(keepingCapacity: true)
    }

    /// Retires batches whose fences have signalled, without blocking.
    private func pollLocked() {
        while let first = inFlight.first, device.f.getFenceStatus(device.device, first.fence) == VK_SUCCESS {
            retire(inFlight.removeFirst())
        }
    }

    private func waitLocked(upTo serial: UInt64) {
        if let current, current.serial <= serial { submitLocked() }
        var fences: [VkFence?] = inFlight.filter { $0.serial <= serial }.map(\.fence)
        guard !fences.isEmpty else { return }
        // One host wait for all of them.
        let start = DispatchTime.now().uptimeNanoseconds
        mustSucceed(device.f.waitForFences(device.device, UInt32(fences.count), &fences, 1, UInt64.max), "vkWaitForFences")
        counters.waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        counters.waits += 1
        while let first = inFlight.first, first.serial <= serial {
            retire(inFlight.removeFirst())
        }
    }

    private func waitAllLocked() {
        submitLocked()
        if let last = inFlight.last { waitLocked(upTo: last.serial) }
    }

    private func retire(_ batch: Batch) {
        let f = device.f, d = device.device
        completed = max(completed, batch.serial)
        if batch.timed, let timestamps = batch.timestamps, let profiler {
            timestamps.collect(device, into: profiler)
        }
        var fence: VkFence? = batch.fence
        mustSucceed(f.resetFences(d, 1, &fence), "vkResetFences")
        mustSucceed(f.resetCommandBuffer(batch.commandBuffer, 0), "vkResetCommandBuffer")
        mustSucceed(f.resetDescriptorPool(d, batch.descriptorPool, 0), "vkResetDescriptorPool")
        for raw in batch.oneOffStaging {
            oneOffBytesInFlight -= raw.bytes
            device.destroy(raw)
        }
        batch.oneOffStaging.removeAll()
        batch.sets = 0
        batch.dispatches = 0
        spare.append(batch)
    }

    /// Host-visible space for `bytes`, valid until the current batch completes.
    private func stageLocked(_ bytes: Int) throws -> (VkBuffer, Int, UnsafeMutableRawPointer) {
        let batch = openBatch()
        if bytes > Self.stagingChunkBytes / 2 {
            if oneOffBytesInFlight + bytes > Self.maxOneOffStagingBytes {
                waitAllLocked()
                _ = openBatch()
            }
            let raw = try device.makeBuffer(bytes: bytes, memoryType: device.hostMemoryType, mapped: true)
            oneOffBytesInFlight += raw.bytes
            current!.oneOffStaging.append(raw)
            return (raw.buffer, 0, raw.mapped!)
        }
        let aligned = (bytes + 255) & ~255
        if let index = activeChunk, chunks[index].used + aligned <= chunks[index].raw.bytes {
            return takeLocked(index, aligned, batch)
        }
        // A fresh chunk: a completed one, a new one, or wait for the oldest.
        pollLocked()
        if let index = chunks.indices.first(where: { chunks[$0].serial <= completed && $0 != activeChunk }) {
            chunks[index].used = 0
            activeChunk = index
            return takeLocked(index, aligned, current ?? openBatch())
        }
        if chunks.count < Self.maxStagingChunks {
            let raw = try device.makeBuffer(bytes: Self.stagingChunkBytes, memoryType: device.hostMemoryType, mapped: true)
            chunks.append(StagingChunk(raw: raw))
            activeChunk = chunks.count - 1
            return takeLocked(chunks.count - 1, aligned, current ?? openBatch())
        }
        let oldest = chunks.indices.filter { $0 != activeChunk }.min { chunks[$0].serial < chunks[$1].serial }!
        waitLocked(upTo: chunks[oldest].serial)
        chunks[oldest].used = 0
        activeChunk = oldest
        return takeLocked(oldest, aligned, openBatch())
    }

    private func takeLocked(_ index: Int, _ bytes: Int, _ batch: Batch) -> (VkBuffer, Int, UnsafeMutableRawPointer) {
        let offset = chunks[index].used
        chunks[index].used += bytes
        chunks[index].serial = batch.serial
        return (chunks[index].raw.buffer, offset, chunks[index].raw.mapped! + offset)
    }

    func destroyAll() {
        lock.lock()
        defer { lock.unlock() }
        waitAllLocked()
        let f = device.f, d = device.device
        for batch in spare {
            batch.timestamps?.destroy(device)
            f.destroyFence(d, batch.fence, nil)
            f.destroyDescriptorPool(d, batch.descriptorPool, nil)
        }
        spare.removeAll()
        for chunk in chunks { device.destroy(chunk.raw) }
        chunks.removeAll()
        if let readback { device.destroy(readback) }
        readback = nil
        f.destroyCommandPool(d, commandPool, nil)
    }
}
