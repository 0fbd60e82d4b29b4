/// Nearest-neighbour resizing of NHWC images to any size, as PyTorch's
/// `F.interpolate(size=…, mode="nearest")` picks sources: output index o
/// reads input ⌊o · (in/out)⌋ (the ratio and product in f32), clamped to the
/// last. diffusers' UNet upsamples this way to its skip connections' sizes
/// when a side is not a multiple of the UNet's overall factor (a 520-pixel
/// image: latent 65 → 33 → 17 → 9, so 9 → 17 rather than 18).
extension Tensor {
    public func resizedNearest(height: Int, width: Int) -> Tensor {
        precondition(rank == 4 && height > 0 && width > 0, "resizedNearest: \(shape) to \(height)×\(width)")
        let (batch, inputHeight, inputWidth, channels) = (shape[0], shape[1], shape[2], shape[3])
        if height == inputHeight && width == inputWidth { return self }
        if height == 2 * inputHeight && width == 2 * inputWidth { return upsampleNearest2x() }
        // Any other size gathers whole pixels (rows of C values) by index: a
        // few thousand indices, and every backend already gathers rows.
        let rows = Self.nearestSources(from: inputHeight, to: height)
        let columns = Self.nearestSources(from: inputWidth, to: width)
        var ids = [Int32]()
        ids.reserveCapacity(batch * height * width)
        for n in 0..<batch {
            for y in rows {
                for x in columns { ids.append(Int32((n * inputHeight + y) * inputWidth + x)) }
            }
        }
        return backend.embedding(ids, table: reshaped([batch * inputHeight * inputWidth, channels]))
            .reshaped([batch, height, width, channels])
    }

    /// PyTorch's `nearest_idx`: the identity at equal sizes, else
    /// min(⌊o · scale⌋, in − 1) with scale = in/out in f32.
    static func nearestSources(from input: Int, to output: Int) -> [Int] {
        guard input != output else { return Array(0..<output) }
        let scale = Float(input) / Float(output)
        return (0..<output).map { min(Int((Float($0) * scale).rounded(.down)), input - 1) }
    }
}
