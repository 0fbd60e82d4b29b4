import Foundation
import Synchronization

/// Host memory for the CPU backend: 64-byte aligned, or borrowed from an
/// owner that keeps it alive (a memory-mapped checkpoint, for zero-copy f32
/// weights; another tensor's storage, for a view of its rows).
final class CPUStorage: TensorStorage, @unchecked Sendable {
    let backend: any Backend
    let byteCount: Int
    let pointer: UnsafeMutableRawPointer
    /// The buffer's whole size (the pool may hand out a larger one).
    private let capacity: Int
    private let owner: AnyObject?
    /// A linear weight's values packed for the products' kernel, made at its
    /// first product (`CPUBackend.packedPanels(of:)`).
    let panels = Mutex<PackedPanels?>(nil)

    /// Whether the bytes are a file's mapped pages (`CPUBackend.wrap`), which
    /// may be dropped and are read again from the file when next touched.
    let isFileBacked: Bool

    init(backend: any Backend, byteCount: Int) {
        self.backend = backend
        self.byteCount = byteCount
        (pointer, capacity) = HostBufferPool.shared.allocate(byteCount)
        self.owner = nil
        isFileBacked = false
    }

    /// Mapped file pages that `owner` keeps mapped.
    init(backend: any Backend, borrowing pointer: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject) {
        self.backend = backend
        self.byteCount = byteCount
        self.pointer = pointer
        self.capacity = byteCount
        self.owner = owner
        isFileBacked = true
    }

    /// `byteCount` bytes of `parent` from `offset`, kept alive by this view.
    /// Safe to share because no op writes into its inputs.
    init(viewOf parent: CPUStorage, offset: Int, byteCount: Int) {
        precondition(offset >= 0 && offset + byteCount <= parent.byteCount, "view past its storage")
        backend = parent.backend
        self.byteCount = byteCount
        pointer = parent.pointer + offset
        capacity = byteCount
        owner = parent
        isFileBacked = parent.isFileBacked
    }

    deinit {
        if owner == nil { HostBufferPool.shared.release(pointer, capacity: capacity) }
    }
}

extension Tensor {
    /// The f32 elements of a CPU tensor. Kernels only; traps on misuse because
    /// that is a bug in sdgen, not bad input.
    var floats: UnsafeMutablePointer<Float> {
        guard let cpu = storage as? CPUStorage else { preconditionFailure("\(self) is not on the CPU") }
        precondition(dtype == .f32, "CPU kernels compute in f32; got \(dtype)")
        return cpu.pointer.assumingMemoryBound(to: Float.self)
    }

    var rawBytes: UnsafeMutableRawPointer {
        guard let cpu = storage as? CPUStorage else { preconditionFailure("\(self) is not on the CPU") }
        return cpu.pointer
    }
}
