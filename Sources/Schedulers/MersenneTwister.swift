/// MT19937, the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998), seeded
/// as torch's CPU generator seeds it: `init_genrand` with the low 32 bits of
/// the seed.
struct MersenneTwister: Sendable {
    private static let n = 624, m = 397
    private static let matrixA: UInt32 = 0x9908_B0DF
    private static let upperMask: UInt32 = 0x8000_0000, lowerMask: UInt32 = 0x7FFF_FFFF

    private var state: [UInt32]
    private var index: Int

    init(seed: UInt64) {
        var state = [UInt32](repeating: 0, count: Self.n)
        state[0] = UInt32(truncatingIfNeeded: seed)
        for i in 1..<Self.n {
            let previous = state[i - 1]
            state[i] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(i)
        }
        self.state = state
        index = Self.n
    }

    /// The next 32 random bits.
    mutating func next() -> UInt32 {
        if index >= Self.n { regenerate() }
        var y = state[index]
        index += 1
        // Tempering.
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// 64 bits from two draws, the first in the high half (torch's random64()).
    mutating func next64() -> UInt64 {
        let high = UInt64(next())
        return high << 32 | UInt64(next())
    }

    /// Twists all 624 words at once.
    private mutating func regenerate() {
        state.withUnsafeMutableBufferPointer { s in
            for i in 0..<Self.n {
                let y = (s[i] & Self.upperMask) | (s[(i + 1) % Self.n] & Self.lowerMask)
                var value = s[(i + Self.m) % Self.n] ^ (y >> 1)
                if y & 1 != 0 { value ^= Self.matrixA }
                s[i] = value
            }
        }
        index = 0
    }
}
