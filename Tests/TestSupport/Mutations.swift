/// Deterministic variants of a valid file for robustness tests: truncations,
/// flipped bytes, overwritten runs, random bytes and random length prefixes.
/// The same seed gives the same variants on every machine.
public struct Mutations: Sequence, IteratorProtocol {
    private let original: [UInt8]
    private var state: UInt64
    private var remaining: Int
    /// Mutations land in the first `focus` bytes most of the time (a
    /// header, where parsers decide), elsewhere now and then.
    private let focus: Int

    public init(of original: [UInt8], count: Int, seed: UInt64, focus: Int? = nil) {
        self.original = original
        state = seed
        remaining = count
        self.focus = Swift.max(1, Swift.min(focus ?? original.count, original.count))
    }

    /// SplitMix64.
    private mutating func random() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(random() % UInt64(n)) }

    private mutating func position() -> Int { below(4) == 0 ? below(original.count) : below(focus) }

    public mutating func next() -> [UInt8]? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        var bytes = original
        switch below(6) {
        case 0:  // truncated anywhere
            bytes = Array(bytes.prefix(below(bytes.count)))
        case 1:  // a few bytes flipped
            for _ in 0..<(1 + below(4)) {
                let i = position()
                bytes[i] ^= UInt8(truncatingIfNeeded: 1 << below(8))
            }
        case 2:  // a run overwritten with random bytes
            let start = position(), length = 1 + below(16)
            for i in start..<Swift.min(bytes.count, start + length) { bytes[i] = UInt8(truncatingIfNeeded: random()) }
        case 3:  // an interesting value written somewhere (lengths, sizes)
            let values: [UInt8] = [0x00, 0xFF, 0x7F, 0x80, 0x30, 0x39, 0x2D, 0x22, 0x5D, 0x7D]
            bytes[position()] = values[below(values.count)]
        case 4:  // random bytes of the same length as a prefix
            let length = below(bytes.count + 1)
            bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: self.random()) }
        default:  // a random little-endian 64-bit length prefix (top bit often set)
            let value = random()
            for i in 0..<Swift.min(8, bytes.count) { bytes[i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        return bytes
    }
}
