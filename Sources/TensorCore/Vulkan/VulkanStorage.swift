/// A tensor's bytes in a pool buffer on the GPU. When the last tensor using
/// it dies, the buffer goes back to the pool (see `BufferPool` for why
/// reuse is safe while queued commands still reference it).
final class VulkanStorage: TensorStorage, @unchecked Sendable {
    let vulkan: VulkanBackend
    let buffer: PooledBuffer
    let byteCount: Int

    var backend: any Backend { vulkan }

    init(backend: VulkanBackend, buffer: PooledBuffer, byteCount: Int) {
        vulkan = backend
        self.buffer = buffer
        self.byteCount = byteCount
    }

    deinit { vulkan.pool.release(buffer) }
}

extension Tensor {
    /// The GPU buffer of a Vulkan tensor (traps on a tensor from another backend:
    /// mixing backends in one op is a bug in the caller).
    var vulkanBuffer: PooledBuffer {
        guard let storage = storage as? VulkanStorage else {
            preconditionFailure("\(self) is not on the Vulkan backend")
        }
        return storage.buffer
    }
}
