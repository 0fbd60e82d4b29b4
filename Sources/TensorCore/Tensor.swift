/// Memory owned by one backend. Only the backend that made it may read it:
/// the data may live on a GPU, so nothing outside a backend assumes it is
/// host-addressable.
public protocol TensorStorage: AnyObject, Sendable {
    var backend: any Backend { get }
    var byteCount: Int { get }
}

/// A dense, contiguous, row-major tensor. A value type: ops return new
/// tensors; `reshaped` shares storage because the bytes do not move.
///
/// Image activations are NHWC (see docs/layout.md for why); weights keep the
/// layout their op documents.
public struct Tensor: Sendable {
    public let shape: [Int]
    public let dtype: DType
    public let storage: any TensorStorage

    public init(shape: [Int], dtype: DType, storage: any TensorStorage) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(shape.reduce(1, *) * dtype.byteSize <= storage.byteCount,
                     "storage of \(storage.byteCount) bytes is too small for \(shape) \(dtype)")
        self.shape = shape
        self.dtype = dtype
        self.storage = storage
    }

    public var backend: any Backend { storage.backend }
    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { count * dtype.byteSize }

    /// Size of one dimension; negative indices count from the end.
    public func dim(_ axis: Int) -> Int { shape[axis < 0 ? axis + rank : axis] }

    /// Same bytes, another shape. One dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var dims = newShape
        if let inferred = dims.firstIndex(of: -1) {
            let known = dims.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            dims[inferred] = count / known
        }
        precondition(dims.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: dims, dtype: dtype, storage: storage)
    }

    /// The values as f32 on the host (a device round-trip on the GPU).
    public func toArray() -> [Float] { backend.download(self) }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor(\(shape), \(dtype), \(backend.name))" }
}
