import CVulkan
import Foundation

/// The GPU backend: every op of `Backend` as Vulkan compute shaders, recorded
/// into command buffers and submitted in batches (docs/vulkan.md).
///
/// Activations are f32; weights are f16 where the device has 16-bit storage
/// (unless `VulkanOptions.weightDType` says otherwise) and every kernel
/// accumulates in f32.
public final class VulkanBackend: Backend, @unchecked Sendable {
    public let info: PhysicalDeviceInfo
    let device: VulkanDevice
    let pool: BufferPool
    let recorder: CommandRecorder
    let pipelines: PipelineCache
    let shaders: ShaderLibrary
    let weightDType: DType
    let useSubgroups: Bool
    /// Whether matrix products run on the cooperative-matrix kernels.
    public internal(set) var usesCooperativeMatrix: Bool
    /// Whether attention runs on the matrix-unit kernel.
    public internal(set) var usesCooperativeAttention = false
    /// The most bytes one binding spans: the storage-buffer range, rounded
    /// down to the offset alignment (or `VulkanOptions.maxBindingBytes`).
    public let bindingLimit: Int
    /// `VulkanOptions.splitKTarget`.
    public let splitKTarget: Int
    /// Whether matrix products on matrix units take the first kernel
    /// (`VulkanOptions.legacyMatrixKernel`, or the current one failed its self-test).
    public internal(set) var legacyMatrixKernel: Bool
    /// A small buffer bound where a kernel's optional input is absent.
    private(set) var dummy: PooledBuffer!

    public init(options: VulkanOptions = VulkanOptions()) throws {
        let instance = try VulkanInstance.shared()
        let index = options.deviceIndex ?? instance.preferredDeviceIndex()
        guard instance.devices.indices.contains(index) else {
            throw VulkanError.badDeviceIndex(index, available: instance.devices.count)
        }
        let device: VulkanDevice
        do {
            device = try VulkanDevice(instance: instance, index: index, enableHalfStorage: options.weightDType != .f32,
                                      enableCooperativeMatrix: options.cooperativeMatrix,
                                      anyShape: options.cooperativeMatrixAnyShape)
        } catch where options.cooperativeMatrix {
            // A driver that lists the extension but refuses the device with it: go without.
            device = try VulkanDevice(instance: instance, index: index, enableHalfStorage: options.weightDType != .f32,
                                      enableCooperativeMatrix: false)
        }
        self.device = device
        info = device.info
        pool = BufferPool(device: device)
        let deviceRange = Int(min(device.info.maxStorageBufferRange, UInt64(Int32.max)))
        let alignment = max(256, Self.offsetAlignment(device.info))
        bindingLimit = min(deviceRange, options.maxBindingBytes ?? .max) / alignment * alignment
        recorder = try CommandRecorder(device: device, bindingLimit: bindingLimit)
        splitKTarget = options.splitKTarget
        legacyMatrixKernel = options.legacyMatrixKernel
        shaders = ShaderLibrary(device: device)
        pipelines = PipelineCache(device: device, shaders: shaders)
        useSubgroups = options.subgroups && device.info.subgroupArithmetic
        switch options.weightDType {
        case .f16?:
            guard device.halfStorage else {
                throw VulkanError.unsupported("\(info.name) has no 16-bit storage for f16 weights")
            }
            weightDType = .f16
        case .some(let other): weightDType = other == .bf16 ? .f32 : other
        case nil: weightDType = device.halfStorage ? .f16 : .f32
        }
        usesCooperativeMatrix = device.cooperativeMatrix
        dummy = try pool.allocate(bytes: 256)
        if usesCooperativeMatrix && !selfTestCooperativeMatrix() {
            // A driver that gets the current kernel wrong may still run the first one right.
            let tried = legacyMatrixKernel
            legacyMatrixKernel = true
            if tried || !selfTestCooperativeMatrix() {
                (usesCooperativeMatrix, legacyMatrixKernel) = (false, options.legacyMatrixKernel)
            }
        }
        usesCooperativeAttention = usesCooperativeMatrix && !legacyMatrixKernel
        if usesCooperativeAttention && !selfTestCooperativeAttention() {
            usesCooperativeAttention = false
        }
    }

    deinit {
        recorder.destroyAll()
        if let dummy { pool.release(dummy) }
        pool.destroyAll()
        pipelines.destroyAll()
        shaders.destroyAll()
    }

    /// f16 where products and attention run on matrix units, else f32.
    public var matmulPrecision: MatmulPrecision { usesCooperativeMatrix ? .f16 : .f32 }

    public var name: String {
        "Vulkan: \(info.name) (\(info.kind.rawValue), weights \(weightDType)\(usesCooperativeMatrix ? ", cooperative matrix\(legacyMatrixKernel ? " (first kernel)" : "")" : "")\(usesCooperativeAttention ? " + attention" : ""))"
    }

    public var preferredWeightDType: DType { weightDType }

    /// Pool statistics (allocated bytes, reuse counts) for tests and reports.
    public var memoryStatistics: (allocatedBytes: Int, inUseBytes: Int, peakBytes: Int, allocations: Int, reuses: Int) {
        let s = pool.statistics
        return (s.allocatedBytes, s.inUseBytes, s.peakAllocatedBytes, s.allocations, s.reuses)
    }

    /// Commands recorded and submitted so far, host waits, and the host time of each.
    public var commandStatistics: CommandStatistics { recorder.statistics }

    /// Frees pooled buffers no tensor uses (after waiting for the device).
    public func trimMemory() {
        recorder.synchronize()
        pool.trim(completedSerial: recorder.completedSerial)
    }

    // MARK: Tensors

    /// A new f32 (or `dtype`) tensor of `shape` with uninitialised contents.
    func makeTensor(_ shape: [Int], dtype: DType = .f32) -> Tensor {
        let bytes = shape.reduce(1, *) * dtype.byteSize
        let buffer: PooledBuffer
        do {
            buffer = try pool.allocate(bytes: bytes)
        } catch {
            // Out of device memory: release what the pool holds and retry once.
            trimMemory()
            do { buffer = try pool.allocate(bytes: bytes) } catch {
                fatalError("Vulkan: cannot allocate \(bytes) bytes for a \(shape) tensor: \(error)")
            }
        }
        return Tensor(shape: shape, dtype: dtype, storage: VulkanStorage(backend: self, buffer: buffer, byteCount: bytes))
    }

    /// The tensor as f32 (a conversion dispatch when it is not).
    func f32(_ x: Tensor) -> Tensor { x.dtype == .f32 ? x : convert(x, to: .f32) }

    /// Weight operands in one dtype the kernels read: all f16 when the device
    /// has 16-bit storage and they already are, else f32. Returns the
    /// variant suffix ("_f16w" or "").
    func weights(_ tensors: [Tensor?]) -> (suffix: String, tensors: [Tensor?]) {
        let present = tensors.compactMap { $0 }
        if device.halfStorage && !present.isEmpty && present.allSatisfy({ $0.dtype == .f16 }) {
            return ("_f16w", tensors)
        }
        return ("", tensors.map { $0.map(f32) })
    }

    // MARK: Memory

    public func upload(_ values: UnsafeBufferPointer<Float>, shape: [Int], dtype: DType) -> Tensor {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        let out = makeTensor(shape, dtype: dtype)
        guard values.count > 0 else { return out }
        stage(out) { destination in
            HalfConversion.convert(from: UnsafeRawPointer(values.baseAddress!), .f32, to: destination, dtype,
                                   range: 0..<values.count)
        }
        return out
    }

    public func upload(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) -> Tensor {
        let byteCount = shape.reduce(1, *) * dtype.byteSize
        precondition(bytes.count == byteCount, "\(bytes.count) bytes for \(shape) \(dtype)")
        let out = makeTensor(shape, dtype: dtype)
        guard byteCount > 0 else { return out }
        stage(out) { $0.copyMemory(from: bytes.baseAddress!, byteCount: byteCount) }
        return out
    }

    /// Host bytes into a tensor's buffer through staging (no wait).
    func stage(_ tensor: Tensor, _ fill: (UnsafeMutableRawPointer) -> Void) {
        do {
            try recorder.upload(tensor.byteCount, into: .write(tensor.vulkanBuffer, bytes: tensor.byteCount), fill: fill)
        } catch {
            fatalError("Vulkan: cannot stage \(tensor.byteCount) bytes: \(error)")
        }
    }

    public func zeros(_ shape: [Int], dtype: DType) -> Tensor {
        let out = makeTensor(shape, dtype: dtype)
        recorder.fill(.write(out.vulkanBuffer, bytes: out.byteCount), bytes: out.byteCount)
        return out
    }

    public func download(_ tensor: Tensor) -> [Float] {
        let count = tensor.count
        guard count > 0 else { return [] }
        do {
            return try recorder.download(.read(tensor.vulkanBuffer, bytes: tensor.byteCount), bytes: tensor.byteCount) { raw in
                [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    HalfConversion.convert(from: raw, tensor.dtype, to: UnsafeMutableRawPointer(buffer.baseAddress!),
                                           .f32, range: 0..<count)
                    initialized = count
                }
            }
        } catch {
            fatalError("Vulkan: download failed: \(error)")
        }
    }

    public func synchronize() { recorder.synchronize() }

    public func convert(_ x: Tensor, to dtype: DType) -> Tensor {
        if x.dtype == dtype { return x }
        let out = makeTensor(x.shape, dtype: dtype)
        let code: (DType) -> UInt32 = { $0 == .f32 ? 0 : ($0 == .f16 ? 1 : 2) }
        dispatch1D("convert", [.read(x.vulkanBuffer, bytes: x.byteCount), .write(out.vulkanBuffer, bytes: out.byteCount)],
                   push: [UInt32(x.count), code(x.dtype), code(dtype)], count: (x.count + 1) / 2)
        return out
    }

    // MARK: Dispatch helpers

    /// Workgroups for `count` invocations of a 256-wide kernel, spread over x and y.
    func grid(_ count: Int, groupSize: Int = 256) -> (Int, Int, Int) {
        let groups = max(1, (count + groupSize - 1) / groupSize)
        let x = min(groups, 65535)
        return (x, (groups + x - 1) / x, 1)
    }

    func dispatch1D(_ variant: String, _ uses: [BufferUse], push: [UInt32], count: Int) {
        guard count > 0 else { return }
        recorder.dispatch(pipelines.require(variant), uses, push: push, groups: grid(count))
    }

    /// One workgroup per row.
    func dispatchRows(_ pipeline: ComputePipeline, _ uses: [BufferUse], push: [UInt32], rows: Int) {
        guard rows > 0 else { return }
        recorder.dispatch(pipeline, uses, push: push, groups: grid(rows, groupSize: 1))
    }

    /// A one-row-per-workgroup reduction's pipeline (layer_norm.comp,
    /// softmax.comp) for rows of `width`, its workgroup `rowThreads(width)`.
    func rowReduction(_ variant: String, width: Int) -> ComputePipeline {
        pipelines.require(variant, specialization: [Self.rowThreads(width)])
    }

    /// The workgroup of the one-row-per-workgroup reductions (layer_norm.comp,
    /// softmax.comp) for rows of `width`: the width rounded up to a power of
    /// two, from 32 to 256. Rows of 768 or 320 get all 256; a short prompt's
    /// 77 scores get 128 rather than leaving most of 256 idle at every
    /// barrier (on lavapipe, where each barrier switches between the
    /// workgroup's invocations, that was 17 ms per layer norm of a tiny model).
    static func rowThreads(_ width: Int) -> UInt32 {
        var threads: UInt32 = 32
        while threads < 256, Int(threads) < width { threads <<= 1 }
        return threads
    }

    var subgroupSuffix: String { useSubgroups ? "_sg" : "" }
}

extension Float {
    /// The bit pattern for a push-constant slot.
    var pushBits: UInt32 { bitPattern }
}

extension UInt32 {
    /// A push-constant slot from a size or index (sizes beyond 2³² are a bug).
    init(size value: Int) {
        precondition(value >= 0 && value <= Int(UInt32.max), "\(value) does not fit a 32-bit kernel parameter")
        self.init(value)
    }
}

// MARK: Device memory and profiling

extension VulkanBackend {
    public var deviceMemory: DeviceMemory? {
        let statistics = pool.statistics
        let heap = device.deviceHeapBytes
        return DeviceMemory(capacityBytes: heap, allocatedBytes: statistics.allocatedBytes,
                            peakBytes: statistics.peakAllocatedBytes, bindingLimitBytes: bindingLimit)
    }

    public func beginProfile() { recorder.swapProfiler(OpProfiler()) }

    public func endProfile() -> OpProfile {
        let finished = recorder.swapProfiler(nil)
        let clock = device.timestampBits > 0 ? "GPU timestamps" : "none (\(info.name) writes no timestamps)"
        return finished?.profile(clock: clock) ?? OpProfile(clock: clock, entries: [])
    }
}
