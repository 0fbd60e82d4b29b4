import Foundation

/// `torch.randn(..., generator=torch.Generator(device="cuda").manual_seed(seed))`
/// reproduced on the CPU: the Philox4x32-10 counter-based generator
/// (Salmon et al. 2011) that torch's CUDA backend uses through cuRAND.
///
/// This follows the reconstruction that AUTOMATIC1111's web UI ships as
/// `modules/rng_philox.py` (checked there against CUDA's output) and that
/// apple/ml-stable-diffusion's `NvRandomSource` implements: element i of a
/// call is computed from the counter (offset, 0, i, 0) and the key (low and
/// high 32 bits of the seed); the first two output words give one normal by
/// Box-Muller in double, keeping the sine branch; each call advances the
/// offset by one. Agreement with real CUDA output is to float32 rounding of
/// that double computation (the GPU's own float math may differ in the last
/// bit), and for the first call of a generator; later CUDA calls advance
/// torch's offset by an amount that depends on the GPU's launch geometry.
public struct PhiloxRandomSource: RandomSource {
    public let seed: UInt64
    /// Calls made so far: the first counter word of the next call.
    public private(set) var offset: UInt32 = 0

    public init(seed: UInt64) {
        self.seed = seed
    }

    private static let multipliers: (UInt32, UInt32) = (0xD251_1F53, 0xCD9E_8D57)
    private static let weyl: (UInt32, UInt32) = (0x9E37_79B9, 0xBB67_AE85)
    /// 2^-32 and 2^-32 · 2π as the reference's float32 constants (decimal
    /// literals taken to double first, then to float, as numpy does).
    private static let scaleLiteral: Double = 2.3283064e-10
    private static let angleLiteral: Double = 2.3283064e-10 * 6.2831855
    private static let scale = Double(Float(scaleLiteral))
    private static let angleScale = Double(Float(angleLiteral))

    public mutating func normal(count: Int) -> [Float] {
        precondition(count >= 0, "negative count")
        precondition(count <= Int(UInt32.max), "one philox call draws at most 2^32 values")
        let key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        let offset = self.offset
        self.offset &+= 1
        // Half of each bin width, as a float32 constant like the reference's.
        let halfScale = Double(Float(Self.scale) / 2)
        let halfAngle = Double(Float(Self.angleScale) / 2)
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                let (x, y) = Self.philox(counter: (offset, 0, UInt32(i), 0), key: key)
                let u = Double(x) * Self.scale + halfScale
                let v = Double(y) * Self.angleScale + halfAngle
                buffer[i] = Float((-2 * log(u)).squareRoot() * sin(v))
            }
            initialized = count
        }
    }

    /// Ten Philox rounds; returns the first two of the four output words.
    private static func philox(counter: (UInt32, UInt32, UInt32, UInt32),
                               key: (UInt32, UInt32)) -> (UInt32, UInt32) {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0..<10 {
            let product0 = UInt64(c0) * UInt64(multipliers.0)
            let product1 = UInt64(c2) * UInt64(multipliers.1)
            let high0 = UInt32(truncatingIfNeeded: product0 >> 32), low0 = UInt32(truncatingIfNeeded: product0)
            let high1 = UInt32(truncatingIfNeeded: product1 >> 32), low1 = UInt32(truncatingIfNeeded: product1)
            (c0, c1, c2, c3) = (high1 ^ c1 ^ k0, low1, high0 ^ c3 ^ k1, low0)
            if round < 9 {
                k0 &+= weyl.0
                k1 &+= weyl.1
            }
        }
        return (c0, c1)
    }
}
