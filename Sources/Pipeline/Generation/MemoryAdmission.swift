import Foundation
import Models
import TensorCore

/// Refuses a generation that cannot fit before any work starts: its peak is
/// estimated as the weights as held + the largest activation working set of
/// one stage (text encoder, UNet step, VAE decode — counted by running each
/// model on the `FLOPCounter`, which follows every tensor's lifetime and
/// each attention's score blocks) + a fixed allowance for the runtime and
/// the buffer pool; the machine offers what /proc/meminfo and the cgroup
/// limit say is available, plus what this process already holds.
///
/// On a GPU the same estimate is held to the device's memory instead (the
/// host keeps only mapped checkpoint pages there), with the pool's size-class
/// slack and the staging buffers on top; and a tensor that a kernel must
/// bind whole (`FLOPCounter.largestWholeBytes`) must fit the device's
/// binding limit, since only some ops split larger ones into windows.
public struct MemoryAdmission: Sendable {
    /// Runtime, code, tokenizers, the CPU buffer pool's default cache (beyond
    /// it the pool keeps at most the UNet step's working set, which the
    /// activations already count: `Backend.retainBuffers(forWorkingSet:)`),
    /// and a wide Winograd layer's scratch, which the FLOP counter does not
    /// model (at most ~90 MB: `CPUBackend.Tuning`'s Winograd budgets).
    static let fixedOverheadBytes = 512 << 20
    /// On a GPU: staging chunks, the read-back buffer, pipelines.
    static let deviceOverheadBytes = 256 << 20

    /// Bytes the machine may give; nil reads the machine (`SDGEN_MEMORY_LIMIT`
    /// in bytes overrides it, so the refusal can be tested).
    public var limitBytes: Int?
    /// Bytes the GPU may give; nil: its device-local heap.
    public var deviceLimitBytes: Int?

    public init(limitBytes: Int? = nil, deviceLimitBytes: Int? = nil) {
        self.limitBytes = limitBytes
        self.deviceLimitBytes = deviceLimitBytes
    }

    /// Returns the UNet step's working set in bytes (what the backend keeps cached for the steps).
    @discardableResult
    public func admit(_ generation: ResolvedGeneration, on model: ModelBundle) throws -> Int {
        if let device = model.backend.deviceMemory {
            return try admitOnDevice(generation, model: model, device: device)
        }
        let footprint = try Self.footprint(generation, model: model)
        let available = limitBytes ?? Self.availableBytes()
        guard let available else { return footprint.unetStepBytes }
        let activations = footprint.activationBytes
        let weights = model.checkpoint.weightBytes
        let needed = weights + activations + Self.fixedOverheadBytes
        guard needed <= available else {
            throw GenerationError.exceedsMemory(
                needed: needed, available: available,
                detail: "weights \(MemoryFormat.gigabytes(weights)) + activations \(MemoryFormat.gigabytes(activations)) "
                    + "at \(generation.width)×\(generation.height)")
        }
        return footprint.unetStepBytes
    }

    private func admitOnDevice(_ generation: ResolvedGeneration, model: ModelBundle, device: DeviceMemory) throws -> Int {
        let footprint = try Self.footprint(generation, model: model)
        let name = model.backend.name
        guard footprint.largestWholeBytes <= device.bindingLimitBytes else {
            throw GenerationError.exceedsDeviceBinding(tensor: footprint.largestWholeBytes, limit: device.bindingLimitBytes,
                                                       device: name, size: "\(generation.width)×\(generation.height)")
        }
        // The pool rounds each buffer up to a size class (at most 25% more).
        let activations = footprint.activationBytes + footprint.activationBytes / 4
        let weights = model.checkpoint.weightBytes
        let needed = weights + activations + Self.deviceOverheadBytes
        let available = deviceLimitBytes ?? device.capacityBytes
        guard needed <= available else {
            throw GenerationError.exceedsDeviceMemory(
                needed: needed, available: available, device: name,
                detail: "weights \(MemoryFormat.gigabytes(weights)) + activations \(MemoryFormat.gigabytes(activations)) "
                    + "at \(generation.width)×\(generation.height)")
        }
        return footprint.unetStepBytes
    }

    /// The largest working set of one stage of `generation`, in bytes.
    public static func activationBytes(_ generation: ResolvedGeneration, model: ModelBundle) throws -> Int {
        try footprint(generation, model: model).activationBytes
    }

    /// The largest working set of one stage, and the largest tensor an op binds whole.
    static func footprint(_ generation: ResolvedGeneration, model: ModelBundle) throws
        -> (activationBytes: Int, largestWholeBytes: Int, unetStepBytes: Int) {
        let counter = FLOPCounter()
        counter.attentionScratchLimit = (model.backend as? CPUBackend)?.attentionScratchBytes
            ?? (model.backend as? VulkanBackend)?.attentionScratchBytes
        let weights = WeightSource(randomWithSeed: 0, backend: counter).root
        let shape = generation.latentShape
        let batch = generation.isGuided ? 2 : 1

        // Each stage's peak above what was alive when it started (its model's weights).
        var peak = 0
        func measure(_ stage: () throws -> Void) rethrows {
            counter.resetPeak()
            let base = counter.liveBytes
            try stage()
            peak = max(peak, counter.peakBytes - base)
        }
        for encoder in model.textEncoders {
            let shadow = try CLIPTextModel(configuration: encoder.model.configuration, weights: weights)
            let length = encoder.model.configuration.maxPositionEmbeddings
            try measure { _ = try shadow(Array(repeating: Array(repeating: 0, count: length), count: batch)) }
        }
        let step = try UNet2DConditionModel.measureStep(
            model.unet.configuration, weights: weights, on: counter, batch: batch, latentHeight: shape.height,
            latentWidth: shape.width, contextTokens: model.textEncoders.first?.model.configuration.maxPositionEmbeddings ?? 77)
        peak = max(peak, step.workingSetBytes)
        if generation.request.initImage != nil {
            let encoder = try VAEEncoder(configuration: model.vaeConfiguration, weights: weights("encoder"),
                                         quant: weights("quant_conv"))
            measure { _ = encoder(counter.zeros([1, generation.height, generation.width, 3], dtype: .f32)) }
        }
        // The decoder's weights are made outside the measured stage, as every model's above.
        let decoder = try VAEDecoder(configuration: model.vaeConfiguration, weights: weights("decoder"),
                                     postQuant: weights("post_quant_conv"))
        measure { decode(generation, model: model, on: counter, decoder: decoder) }
        return (peak, counter.largestWholeBytes, step.workingSetBytes)
    }

    /// The VAE decode's working set alone: with tiling, one tile's, plus the image it assembles.
    public static func decodeActivationBytes(_ generation: ResolvedGeneration, model: ModelBundle) throws -> Int {
        let counter = FLOPCounter()
        let weights = WeightSource(randomWithSeed: 0, backend: counter).root
        let decoder = try VAEDecoder(configuration: model.vaeConfiguration, weights: weights("decoder"),
                                     postQuant: weights("post_quant_conv"))
        counter.resetPeak()
        let base = counter.liveBytes
        decode(generation, model: model, on: counter, decoder: decoder)
        return counter.peakBytes - base
    }

    private static func decode(_ generation: ResolvedGeneration, model: ModelBundle, on counter: FLOPCounter,
                               decoder: VAEDecoder) {
        let shape = generation.latentShape
        let decoded = generation.decoderTiling.map { $0.tileShape(for: shape) } ?? shape
        let image = generation.decoderTiling.map { _ in
            counter.zeros([1, generation.height, generation.width, model.vaeConfiguration.outChannels], dtype: .f32)
        }
        _ = decoder(counter.zeros([1, decoded.height, decoded.width, model.latentChannels], dtype: .f32))
        withExtendedLifetime(image) {}
    }

    /// MemAvailable (or the cgroup's headroom, if smaller) plus this process's own resident pages.
    static func availableBytes() -> Int? {
        if let forced = ProcessInfo.processInfo.environment["SDGEN_MEMORY_LIMIT"].flatMap({ Int($0) }) { return forced }
        guard let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
              let kilobytes = line.split(separator: " ").compactMap({ Int($0) }).first else { return nil }
        var available = kilobytes * 1024
        if let limit = cgroupValue("memory.max"), let used = cgroupValue("memory.current") {
            available = min(available, max(0, limit - used))
        }
        return available + (ProcessMemory.residentBytes ?? 0)
    }

    private static func cgroupValue(_ name: String) -> Int? {
        (try? String(contentsOfFile: "/sys/fs/cgroup/\(name)", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
