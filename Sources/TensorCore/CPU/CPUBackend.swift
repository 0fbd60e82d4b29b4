import CBLAS
import Foundation

/// The reference backend: f32 on the host, matrix products through sdgen's
/// own GEMM for the CPU's kernel set (`CPUKernelSet`; OpenBLAS where the CPU
/// has neither AVX2 nor AVX-512), everything else in SIMD loops split over
/// `threads` workers.
///
/// All parallelism is ours: OpenBLAS is called single-threaded, large GEMMs
/// are split over the workers (`gemm`), so no second thread pool competes
/// with our loops for the cores.
public final class CPUBackend: Backend, @unchecked Sendable {
    public let threads: Int
    public let convolutionAlgorithm: ConvolutionAlgorithm
    public let precision: MatmulPrecision
    /// The instructions the products and attention use.
    public let kernels: CPUKernelSet
    public var matmulPrecision: MatmulPrecision { precision }
    /// Whether products round their operands to bfloat16 (else f32; the CPU has no f16 products).
    var bf16Products: Bool { precision == .bf16 }
    public let tuning: Tuning
    /// Set between `beginProfile` and `endProfile`.
    let profiler = Locked<OpProfiler?>(nil)

    /// Working-set sizes of the blocked kernels. The defaults keep each
    /// block in cache at SD's sizes; tests shrink them so small fixtures
    /// cross block boundaries too.
    public struct Tuning: Sendable {
        /// Winograd's transformed kernels, made this many bytes of output channels
        /// at a time (16 MB: SD 1.5's 512² step under 2 GB from fp16 files);
        /// with sdgen's kernels, a chunk's gathered taps (9 values an output
        /// and input channel, where the transformed kernels hold 36).
        public var winogradKernelChunkBytes = 16 << 20
        /// Where kernels come in chunks, the transformed tiles packed for the
        /// products this many bytes at a time: all of SDXL's 32×32 layers'
        /// (2560 channels: 47 MB) at once, so each chunk is made once.
        public var winogradPackedTileBytes = 48 << 20
        /// …transformed this many bytes at a time before packing (a small
        /// step keeps SD 1.5's 512² VAE decode within 11 MB of its peak before).
        public var winogradTransformStepBytes = 4 << 20
        /// f16/bf16 weight rows widened to f32 this many bytes at a time.
        public var widenedBlockBytes = 16 << 20
        /// f16/bf16 weights converted as sdgen's f32 GEMM packs them; off,
        /// widened in blocks first (what the generic set does for OpenBLAS;
        /// tests check both).
        public var packsStoredWeights = true
        /// Attention as one fused kernel where the CPU has AVX2 or AVX-512;
        /// off, as two GEMMs around a softmax (what other CPUs run; tests
        /// check both).
        public var fusedAttention = true
        /// f32 linear weights packed once for the products (`PackedPanels`)
        /// even when they live in the process's own memory, where the panels
        /// are a second copy; by default only a mapped file's weights are
        /// (tests use it to run the prepacked products on weights they make).
        public var prepacksAllWeights = false
        /// A feed-forward's hidden layer at most 16 MB at a time
        /// (`Backend.rowBlocking`), which keeps SD 1.5's 512² UNet step under
        /// its weights plus ~250 MB with products of ≥ 1024 rows; but blocks
        /// of at least 512 rows, where the products reach their full rate
        /// (`Microbench rows`, Zen 5: 400–448 GFLOP/s at 128 rows, 486–490 at
        /// 512) — SDXL's 2048 tokens at 32×32, 40 KB of hidden layer each,
        /// would otherwise run in 6 blocks of 342.
        public var rowBlocking = RowBlocking(bytes: 16 << 20, minimumRows: 512)

        public init() {}
    }

    /// `kernels` may only narrow what this CPU has (`CPUKernelSet.available`).
    public init(threads: Int? = nil, convolution: ConvolutionAlgorithm = .automatic,
                precision: MatmulPrecision = .f32, kernels: CPUKernelSet = .selected, tuning: Tuning = Tuning()) {
        precondition(kernels <= CPUKernelSet.detected, "CPU kernel set \(kernels) on a CPU with \(CPUKernelSet.detected)")
        precondition(precision != .f16, "f16 products are the GPU's matrix units' (BackendSettings refuses them here)")
        let count = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.threads = count
        convolutionAlgorithm = convolution
        self.precision = precision
        self.kernels = kernels
        self.tuning = tuning
        // We split GEMMs over our own workers (`gemm`); see there for why.
        openblas_set_num_threads(1)
    }

    public var name: String {
        let convolutions = convolutionAlgorithm == .automatic ? "" : ", \(convolutionAlgorithm.rawValue) 3×3 convolutions"
        let products = !bf16Products ? kernels.productKernels
            : hasNativeBFloat16 ? "bf16 products, AVX-512 BF16" : "bf16 products emulated on \(kernels.productKernels)"
        // Test-only switches, named so parity lines tell the paths apart.
        let switches = (tuning.fusedAttention ? "" : ", unfused attention")
            + (tuning.packsStoredWeights ? "" : ", widened weights")
        return "CPU (\(products), \(threads) thread\(threads == 1 ? "" : "s")\(convolutions)\(switches))"
    }

    /// Matrices and kernels stored in f16 or bf16 stay so in memory, halving
    /// the resident weights (the issue's 3 GB bound for a 512² image); the
    /// ops that take them (linear, conv2d, embedding) widen them to f32 as
    /// they use them, which is exact, so results equal converting at load.
    /// Vectors (biases, norms) are tiny and become f32.
    public func weightDType(storedAs stored: DType, shape: [Int]) -> DType {
        shape.count >= 2 && stored != .f32 ? stored : .f32
    }

    public var rowBlocking: RowBlocking? { tuning.rowBlocking }

    /// The buffer pool (shared by every CPU backend) keeps one such step's
    /// buffers: what a step frees, the next takes back. Fresh pages cost more
    /// than zeroing: on the cloud VMs measured, memory freed a few seconds
    /// earlier comes back from the hypervisor at 0.2–0.3 GB/s on first touch
    /// (a 6 GB fill took 31 s; a refill right after, 16 GB/s), so an SDXL step
    /// at 1024², whose 42–84 MB activations outgrew the default cache, spent
    /// ~4 s of 35 faulting them in (docs/performance.md). Cached and live
    /// buffers together stay within the working set, so the peak stays the
    /// step's own. Up to twice the default, the default cache already holds
    /// what repeats: SD 1.5 at 512² (a 190 MB working set) ran no faster with
    /// all of it kept, and peaked 31 MB higher — against its 2 GB bound.
    public func retainBuffers(forWorkingSet bytes: Int) {
        let standard = HostBufferPool.defaultCapacity
        HostBufferPool.shared.capacity = bytes > 2 * standard ? bytes : standard
    }

    /// How 3×3 stride-1 convolutions are computed.
    public enum ConvolutionAlgorithm: String, Sendable, CaseIterable {
        /// Winograd where the image has enough tiles to repay it, else direct.
        case automatic
        /// im2col + GEMM: the 9·Cin multiply-adds per output of the definition.
        case direct
        /// Winograd F(4×4, 3×3) whenever the channel counts allow it.
        case winograd
    }

    // MARK: Memory

    /// A new, uninitialised f32 tensor and its elements.
    func makeTensor(_ shape: [Int]) -> (Tensor, UnsafeMutablePointer<Float>) {
        let count = shape.reduce(1, *)
        let storage = CPUStorage(backend: self, byteCount: count * 4)
        let tensor = Tensor(shape: shape, dtype: .f32, storage: storage)
        return (tensor, storage.pointer.assumingMemoryBound(to: Float.self))
    }

    public func upload(_ values: UnsafeBufferPointer<Float>, shape: [Int], dtype: DType) -> Tensor {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        let storage = CPUStorage(backend: self, byteCount: values.count * dtype.byteSize)
        if values.count > 0 {
            convertElements(from: UnsafeRawPointer(values.baseAddress!), .f32,
                            to: storage.pointer, dtype, count: values.count)
        }
        return Tensor(shape: shape, dtype: dtype, storage: storage)
    }

    public func upload(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) -> Tensor {
        let byteCount = shape.reduce(1, *) * dtype.byteSize
        precondition(bytes.count == byteCount, "\(bytes.count) bytes for \(shape) \(dtype)")
        let storage = CPUStorage(backend: self, byteCount: byteCount)
        if byteCount > 0 { storage.pointer.copyMemory(from: bytes.baseAddress!, byteCount: byteCount) }
        return Tensor(shape: shape, dtype: dtype, storage: storage)
    }

    /// A tensor over a file's mapped pages that someone else keeps mapped (a
    /// checkpoint, the spill file), no copy. The backend may drop those pages
    /// once it has what it needs of them elsewhere (`packedPanels(of:)`): they
    /// must read back from the file unchanged.
    public func wrap(_ pointer: UnsafeMutableRawPointer, shape: [Int], dtype: DType, owner: AnyObject) -> Tensor {
        let storage = CPUStorage(backend: self, borrowing: pointer,
                                 byteCount: shape.reduce(1, *) * dtype.byteSize, owner: owner)
        return Tensor(shape: shape, dtype: dtype, storage: storage)
    }

    /// A tensor's bytes, as stored, copied to memory the caller provides (`wrap`'s
    /// counterpart: a weight made at load moves to a file-backed mapping this way).
    public func copyBytes(of tensor: Tensor, to destination: UnsafeMutableRawPointer) {
        if tensor.byteCount > 0 { destination.copyMemory(from: tensor.rawBytes, byteCount: tensor.byteCount) }
    }

    public func zeros(_ shape: [Int], dtype: DType) -> Tensor {
        let storage = CPUStorage(backend: self, byteCount: shape.reduce(1, *) * dtype.byteSize)
        storage.pointer.initializeMemory(as: UInt8.self, repeating: 0, count: storage.byteCount)
        return Tensor(shape: shape, dtype: dtype, storage: storage)
    }

    public func download(_ tensor: Tensor) -> [Float] {
        [Float](unsafeUninitializedCapacity: tensor.count) { buffer, initialized in
            if tensor.count > 0 {
                convertElements(from: tensor.rawBytes, tensor.dtype,
                                to: UnsafeMutableRawPointer(buffer.baseAddress!), .f32, count: tensor.count)
            }
            initialized = tensor.count
        }
    }

    public func synchronize() {}

    public func convert(_ x: Tensor, to dtype: DType) -> Tensor {
        return timed(.copies, "convert") {
            let storage = CPUStorage(backend: self, byteCount: x.count * dtype.byteSize)
            if x.count > 0 {
                convertElements(from: x.rawBytes, x.dtype, to: storage.pointer, dtype, count: x.count)
            }
            return Tensor(shape: x.shape, dtype: dtype, storage: storage)
        }
    }

    /// Element conversion between dtypes, split over the workers.
    func convertElements(from source: UnsafeRawPointer, _ from: DType,
                         to destination: UnsafeMutableRawPointer, _ to: DType, count: Int) {
        parallelFor(count, threads: threads, minimumPerThread: 1 << 16) { range in
            HalfConversion.convert(from: source, from, to: destination, to, range: range)
        }
    }
}

// MARK: Profiling

extension CPUBackend {
    public func beginProfile() { profiler.withLock { $0 = OpProfiler() } }

    public func endProfile() -> OpProfile {
        let finished = profiler.withLock { current -> OpProfiler? in
            defer { current = nil }
            return current
        }
        return finished?.profile(clock: "host clock") ?? OpProfile(clock: "host clock", entries: [])
    }

    /// `body`, timed when profiling is on.
    func timed<R>(_ kind: OpProfile.Kind, _ label: @autoclosure () -> String, flops: @autoclosure () -> Double = 0,
                  _ body: () -> R) -> R {
        guard let active = profiler.withLock({ $0 }) else { return body() }
        return active.time(kind, label(), flops: flops(), body)
    }
}
