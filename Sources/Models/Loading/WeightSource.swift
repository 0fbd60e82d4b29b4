import Foundation
import SafeTensors
import TensorCore

/// Tensors by name from one or more safetensors files, checked for presence
/// and shape as they are taken and converted once to the dtype the backend
/// keeps them in. Models ask for diffusers/transformers names; `keyMap` translates
/// them to the tensors a file actually has (the original single-file layout,
/// a `bert.` prefix, a block of a fused tensor, …).
public final class WeightSource: @unchecked Sendable {
    public let backend: any Backend
    /// The dtype every weight is converted to; nil leaves it to the backend,
    /// weight by weight (`Backend.weightDType(storedAs:shape:)`).
    public let dtype: DType?
    public let description: String
    private let files: [SafeTensorsFile]
    private let keyMap: @Sendable (String) -> [StoredTensor]
    /// Set for a source that invents weights (benchmarks, shape tests).
    private let randomSeed: UInt64?
    /// The dtype invented weights count as stored in.
    private let randomStoredDType: DType
    /// Bytes taken so far and the spill file, shared with `remapped`/`patched` views.
    private let shared: SharedState
    /// Changes merged into the weights as they load (LoRAs), if any.
    private let patch: (any WeightPatch)?

    /// The bytes the tensors taken from this source (and its remapped
    /// views) occupy on the backend, as kept there (f16 matrices count 2 a value).
    public var loadedBytes: Int { shared.total }

    /// - Parameter dtype: the dtype weights are stored in on the backend
    ///   (nil: the backend's choice — f16 on GPUs with 16-bit storage, the
    ///   checkpoint's own f16/bf16 for matrices on the CPU).
    /// - Parameter keyMap: where a model key may be stored, tried in order.
    public convenience init(files: [SafeTensorsFile], backend: any Backend, dtype: DType? = nil,
                description: String? = nil,
                keyMap: @escaping @Sendable (String) -> [StoredTensor] = { [.whole($0)] }) {
        self.init(files: files, backend: backend, dtype: dtype, description: description, keyMap: keyMap,
                  shared: SharedState(), patch: nil)
    }

    private init(files: [SafeTensorsFile], backend: any Backend, dtype: DType?, description: String?,
                 keyMap: @escaping @Sendable (String) -> [StoredTensor], shared: SharedState, patch: (any WeightPatch)?) {
        self.shared = shared
        self.patch = patch
        self.files = files
        self.backend = backend
        self.dtype = dtype
        self.keyMap = keyMap
        self.description = description ?? files.map(\.url.lastPathComponent).joined(separator: ", ")
        randomSeed = nil
        randomStoredDType = .f32
    }

    /// A source that answers every request with random values of the asked
    /// shape: speed does not depend on the values, so benchmarks need no
    /// download. Scaled like PyTorch's default init so activations stay finite.
    /// - Parameter storedAs: the checkpoint dtype the weights stand in for
    ///   (the backend keeps them as it would keep such a file's).
    public convenience init(randomWithSeed seed: UInt64, backend: any Backend, dtype: DType? = nil,
                            storedAs: DType = .f32) {
        self.init(randomWithSeed: seed, backend: backend, dtype: dtype, storedAs: storedAs, shared: SharedState(),
                  patch: nil)
    }

    private init(randomWithSeed seed: UInt64, backend: any Backend, dtype: DType?, storedAs: DType, shared: SharedState,
                 patch: (any WeightPatch)?) {
        self.shared = shared
        self.patch = patch
        files = []
        self.backend = backend
        self.dtype = dtype
        keyMap = { [.whole($0)] }
        description = "random weights"
        randomSeed = seed
        randomStoredDType = storedAs
    }

    /// The same files seen through another key map (one per model of a
    /// single-file checkpoint).
    public func remapped(_ keyMap: @escaping @Sendable (String) -> [StoredTensor]) -> WeightSource {
        view(keyMap: keyMap, patch: patch)
    }

    /// The same files with `patch` merged into the weights it changes (one
    /// view per model: a LoRA's UNet and text-encoder parts differ).
    public func patched(_ patch: (any WeightPatch)?) -> WeightSource {
        view(keyMap: keyMap, patch: patch)
    }

    private func view(keyMap: @escaping @Sendable (String) -> [StoredTensor], patch: (any WeightPatch)?) -> WeightSource {
        if let randomSeed {
            return WeightSource(randomWithSeed: randomSeed, backend: backend, dtype: dtype, storedAs: randomStoredDType,
                                shared: shared, patch: patch)
        }
        return WeightSource(files: files, backend: backend, dtype: dtype, description: description, keyMap: keyMap,
                            shared: shared, patch: patch)
    }

    /// Where a model key lives, if anywhere: the file, the entry (for a
    /// block of a fused tensor, the block's rows and bytes) and whether it
    /// is stored transposed.
    public func locate(_ key: String) -> (file: SafeTensorsFile, info: TensorInfo, isTransposed: Bool)? {
        for candidate in keyMap(key) {
            for file in files {
                guard let whole = file.info(candidate.name) else { continue }
                if candidate.isTransposed && whole.shape.count != 2 { continue }
                guard let block = candidate.rowBlock else { return (file, whole, candidate.isTransposed) }
                if let info = whole.rowBlock(block.part, of: block.parts) { return (file, info, candidate.isTransposed) }
            }
        }
        return nil
    }

    public func contains(_ key: String) -> Bool { randomSeed != nil || locate(key) != nil }

    /// The shape of a key as the model sees it, for inferring hyperparameters.
    public func shape(of key: String) -> [Int]? {
        locate(key).map { $0.isTransposed ? $0.info.shape.reversed() : $0.info.shape }
    }

    /// A tensor that must exist with exactly `shape` (element count equal is
    /// accepted when `reshape` is set: 1×1 conv kernels stored as [C, C, 1, 1]),
    /// its axes rearranged once at load by `permutedBy` (`Tensor.permuted`)
    /// into the layout its op reads.
    public func tensor(_ key: String, shape: [Int], allowReshape: Bool = false,
                       permutedBy axes: [Int]? = nil) throws -> Tensor {
        var (tensor, computed) = try load(key, shape: shape, allowReshape: allowReshape)
        if let axes {
            tensor = tensor.permuted(axes)
            computed = true
        }
        if computed { tensor = spilled(tensor) }
        shared.add(tensor.byteCount)
        return tensor
    }

    /// The tensor as loaded, and whether it was computed at load (invented,
    /// patched or transposed) rather than taken from the file as stored.
    private func load(_ key: String, shape: [Int], allowReshape: Bool) throws -> (Tensor, computed: Bool) {
        if let randomSeed { return (try randomTensor(key, shape: shape, seed: randomSeed), true) }
        guard let (file, info, isTransposed) = locate(key) else {
            throw ModelLoadError.missingTensor(key: key, expectedShape: shape, source: description)
        }
        let logicalShape = isTransposed ? Array(info.shape.reversed()) : info.shape
        guard logicalShape == shape || (allowReshape && !isTransposed && info.count == shape.reduce(1, *)) else {
            throw ModelLoadError.shapeMismatch(key: info.name, expected: shape, found: logicalShape, source: description)
        }
        guard let stored = info.dtype.tensorDType else {
            throw ModelLoadError.unsupportedDType(key: info.name, dtype: info.dtype.rawValue, source: description)
        }
        let target = dtype ?? backend.weightDType(storedAs: stored, shape: shape)
        let patches = patch?.changes(key) == true
        if patches || isTransposed {
            var values = ElementConversion.floats(try file.bytes(of: info).baseAddress!, from: stored, count: info.count)
            file.releaseResidentPages(of: info.name)
            if isTransposed { values = Self.transposed(values, rows: info.shape[0], columns: info.shape[1]) }
            if let patch, patches {
                try values.withUnsafeMutableBufferPointer { try patch.apply(to: key, values: $0, shape: logicalShape) }
            }
            return (backend.upload(values, shape: logicalShape, dtype: target).reshaped(shape), true)
        }
        let tensor = try file.tensor(info, on: backend, as: target).reshaped(shape)
        // Pages read only to be converted or uploaded need not stay until the
        // model is built (an aliased tensor's pages were not read: nothing changes).
        file.releaseResidentPages(of: info.name)
        return (tensor, false)
    }

    private func randomTensor(_ key: String, shape: [Int], seed: UInt64) throws -> Tensor {
        let dtype = self.dtype ?? backend.weightDType(storedAs: randomStoredDType, shape: shape)
        // Counting FLOPs needs shapes only; skip inventing gigabytes of values.
        if !backend.readsValues { return backend.zeros(shape, dtype: dtype) }
        let count = shape.reduce(1, *)
        // Per-key stream, so the same key gets the same values in any order.
        var state = key.utf8.reduce(seed ^ 0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 } | 1
        let isNormWeight = shape.count == 1 && key.hasSuffix("weight")
        let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
        let bound: Float = shape.count > 1 ? 1 / Float(fanIn).squareRoot() : 0.02
        var values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                let unit = Float(state >> 40) / Float(1 << 24) * 2 - 1
                buffer[i] = (isNormWeight ? 1 : 0) + unit * bound
            }
            initialized = count
        }
        if let patch, patch.changes(key) {
            try values.withUnsafeMutableBufferPointer { try patch.apply(to: key, values: $0, shape: shape) }
        }
        return backend.upload(values, shape: shape, dtype: dtype)
    }

    /// A weight computed at load — a patch merged, a kernel laid out for its
    /// op, invented values — moved on the CPU to the spill file, so that
    /// between stages it leaves the process as the checkpoint's own mapped
    /// weights do: SD 1.5's permuted convolution kernels are 1 GB that
    /// otherwise stayed resident through the VAE decode, a merged LoRA the
    /// whole run, and a benchmark's peak is then what the files would cost.
    private func spilled(_ tensor: Tensor) -> Tensor {
        guard let cpu = backend as? CPUBackend, let spill = shared.spill,
              let stored = spill.store(byteCount: tensor.byteCount, { cpu.copyBytes(of: tensor, to: $0) })
        else { return tensor }
        return cpu.wrap(stored, shape: tensor.shape, dtype: tensor.dtype, owner: spill)
    }

    /// A row-major rows × columns matrix as columns × rows (loading time only).
    private static func transposed(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: values.count) { out, initialized in
            values.withUnsafeBufferPointer { source in
                for r in 0..<rows {
                    for c in 0..<columns { out[c * rows + r] = source[r * columns + c] }
                }
            }
            initialized = values.count
        }
    }

    /// Once a model is built: see `SafeTensorsFile.releaseResidentPages()`.
    public func releaseResidentPages() {
        for file in files { file.releaseResidentPages() }
        shared.spillIfMade?.releaseResidentPages()
    }

    /// A view that prefixes every key with `prefix.`.
    public func scope(_ prefix: String) -> Weights { Weights(source: self, prefix: prefix) }
    public var root: Weights { Weights(source: self, prefix: "") }
}

/// What a source and its views share: a running byte count and the spill
/// file for merged weights (made on first use). Models are built on one
/// thread at a time; the lock only keeps concurrent loads from tearing it.
private final class SharedState: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = 0
    private var spillFile: SpillFile?
    private var spillTried = false

    var total: Int { lock.withLock { bytes } }
    func add(_ count: Int) { lock.withLock { bytes += count } }

    var spill: SpillFile? {
        lock.withLock {
            if !spillTried { spillFile = SpillFile(); spillTried = true }
            return spillFile
        }
    }
    var spillIfMade: SpillFile? { lock.withLock { spillFile } }
}

/// A position in the model's parameter tree ("down_blocks.0.resnets.1"),
/// so each layer asks for its tensors by their local names.
public struct Weights: Sendable {
    public let source: WeightSource
    public let prefix: String

    public var backend: any Backend { source.backend }

    public func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    public func callAsFunction(_ name: String) -> Weights { Weights(source: source, prefix: key(name)) }
    public func callAsFunction(_ index: Int) -> Weights { self(String(index)) }

    public func tensor(_ name: String, shape: [Int], allowReshape: Bool = false, permutedBy axes: [Int]? = nil) throws -> Tensor {
        try source.tensor(key(name), shape: shape, allowReshape: allowReshape, permutedBy: axes)
    }

    public func contains(_ name: String) -> Bool { source.contains(key(name)) }
    public func shape(of name: String) -> [Int]? { source.shape(of: key(name)) }
}
