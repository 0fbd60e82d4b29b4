import Foundation

/// `torch.randn` on torch's CPU generator (`torch.Generator().manual_seed(seed)`),
/// bit for bit as x86-64 builds of torch produce it.
///
/// torch draws normals two ways, and which one depends on the call's size:
/// - 16 or more values: fill the whole output with float uniforms first
///   (24 random bits each), then Box-Muller in place over blocks of 16,
///   pairing element j with j + 8, through the AVX2 kernel's float log/sincos
///   (`CephesFloatMath`). When the size is not a multiple of 16, the last 16
///   positions are refilled with fresh uniforms and transformed again, so the
///   tail overlaps the previous block.
/// - fewer than 16: one double-precision Box-Muller pair per two values
///   (53-bit uniforms, libm's log1p/sin/cos), the second value of each pair
///   kept in the generator and returned by the next small draw, even one in
///   a later call.
///
/// torch on arm64 (no AVX2 kernel) computes the large path with libm instead;
/// its values differ in the last bits from these.
public struct TorchRandomSource: RandomSource {
    private var engine: MersenneTwister
    /// The spare value of the last double Box-Muller pair.
    private var cachedNormal: Double?

    /// `torch.Generator().manual_seed(seed)`: only the low 32 bits of the seed
    /// reach the Mersenne Twister.
    public init(seed: UInt64) {
        engine = MersenneTwister(seed: seed)
    }

    public mutating func normal(count: Int) -> [Float] {
        precondition(count >= 0, "negative count")
        return count >= 16 ? blockNormals(count: count) : scalarNormals(count: count)
    }

    /// A uniform float in [0, 1) with 24 random bits.
    private mutating func uniformFloat() -> Float {
        Float(engine.next() & 0xFF_FFFF) * 0x1p-24
    }

    /// A uniform double in [0, 1) with 53 random bits.
    private mutating func uniformDouble() -> Double {
        Double(engine.next64() & (1 << 53 - 1)) * 0x1p-53
    }

    private mutating func blockNormals(count: Int) -> [Float] {
        var values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = uniformFloat() }
            initialized = count
        }
        values.withUnsafeMutableBufferPointer { v in
            var start = 0
            while start + 16 <= count {
                Self.boxMuller16(v, at: start)
                start += 16
            }
        }
        if count % 16 != 0 {
            let tail = count - 16
            for i in tail..<count { values[i] = uniformFloat() }
            values.withUnsafeMutableBufferPointer { Self.boxMuller16($0, at: tail) }
        }
        return values
    }

    /// Box-Muller on 16 uniforms in place: (u_j, u_{j+8}) -> (r cos θ, r sin θ)
    /// with r = sqrt(-2 log(1 - u_j)) and θ = 2π u_{j+8}, all in float.
    private static func boxMuller16(_ v: UnsafeMutableBufferPointer<Float>, at start: Int) {
        let twoPi = Float(2 * Double.pi)
        for j in start..<(start + 8) {
            let radius = (-2 * CephesFloatMath.log(1 - v[j])).squareRoot()
            let (sin, cos) = CephesFloatMath.sinCos(twoPi * v[j + 8])
            v[j] = radius * cos
            v[j + 8] = radius * sin
        }
    }

    private mutating func scalarNormals(count: Int) -> [Float] {
        var values = [Float]()
        values.reserveCapacity(count)
        for _ in 0..<count {
            if let cached = cachedNormal {
                cachedNormal = nil
                values.append(Float(cached))
                continue
            }
            let u1 = uniformDouble(), u2 = uniformDouble()
            let radius = (-2 * log1p(-u2)).squareRoot()
            let theta = 2 * Double.pi * u1
            cachedNormal = radius * sin(theta)
            values.append(Float(radius * cos(theta)))
        }
        return values
    }
}
