/// Tensors larger than one binding may span.
///
/// A kernel sees a tensor through a storage-buffer binding, and a device
/// caps how many bytes one binding spans (`maxStorageBufferRange`: 128 MiB
/// on lavapipe, 4 GiB on NVIDIA's driver), while a 512×512 VAE decode holds
/// 256 MiB activations and SDXL's 1 GiB. Ops whose output element depends
/// on a bounded stretch of the input (element-wise ops, norms' passes,
/// upsampling, products' rows, a convolution's output rows with their
/// input halo) are therefore recorded as several dispatches over windows:
/// each binds a stretch of each tensor at an offset the device accepts and
/// tells the kernel where that stretch starts. A tensor that fits is one
/// window, so the usual path records exactly what it did before.
extension VulkanBackend {
    /// The byte multiple a binding's offset must be (at least a float's).
    static func offsetAlignment(_ info: PhysicalDeviceInfo) -> Int { max(4, info.minStorageBufferOffsetAlignment) }
    var offsetAlignment: Int { Self.offsetAlignment(info) }

    /// Consecutive ranges of `units` (elements, rows, …) covering 0..<units,
    /// such that for every tensor a window's first unit starts at a byte
    /// offset the device can bind (`unitBytes[i]` bytes per unit) and spans at
    /// most `bindingLimit` bytes, with at most `maxUnits` units per window.
    func windows(units: Int, unitBytes: [Int], maxUnits: Int = .max) -> [Range<Int>] {
        guard units > 0 else { return [] }
        let widest = unitBytes.max() ?? 1
        if units * widest <= bindingLimit && units <= maxUnits { return [0..<units] }
        // Units per window must keep every tensor's window start aligned.
        let alignment = offsetAlignment
        let granule = unitBytes.reduce(1) { lcm($0, alignment / gcd($1, alignment)) }
        let fit = min(bindingLimit / max(widest, 1), maxUnits) / granule * granule
        precondition(fit > 0, "a unit of \(widest) bytes does not fit the \(bindingLimit)-byte binding limit")
        return stride(from: 0, to: units, by: fit).map { $0..<min(units, $0 + fit) }
    }

    /// The binding of `units` of a tensor with `unitBytes` bytes per unit.
    func window(_ buffer: PooledBuffer, _ units: Range<Int>, unitBytes: Int, write: Bool) -> BufferUse {
        BufferUse(buffer: buffer.buffer, bytes: units.count * unitBytes, capacity: buffer.capacity,
                  offset: units.lowerBound * unitBytes, write: write, owner: buffer)
    }

    /// The binding that starts at the aligned offset at or below element
    /// `start` of an f32 tensor and spans `count` elements past it, with the
    /// elements to skip (for a kernel's offset push constant).
    func window(_ buffer: PooledBuffer, from start: Int, count: Int, write: Bool) -> (use: BufferUse, skip: Int) {
        let offset = start * 4 / offsetAlignment * offsetAlignment
        let skip = (start * 4 - offset) / 4
        return (BufferUse(buffer: buffer.buffer, bytes: (skip + count) * 4, capacity: buffer.capacity, offset: offset,
                          write: write, owner: buffer), skip)
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? max(a, 1) : gcd(b, a % b) }
private func lcm(_ a: Int, _ b: Int) -> Int { a / gcd(a, b) * b }
