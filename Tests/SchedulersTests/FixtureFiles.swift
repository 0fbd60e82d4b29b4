import Foundation
import Schedulers
import TestSupport

enum FixtureError: Error {
    case layout(String)
}

/// A little-endian float32 file under Tests/Fixtures.
func readFloats(_ relativePath: String) throws -> [Float] {
    let data = try Data(contentsOf: FixturePaths.url(relativePath))
    guard data.count % 4 == 0 else { throw FixtureError.layout("\(relativePath): \(data.count) bytes") }
    return (0..<(data.count / 4)).map { i in
        let bits = data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)) }
        return Float(bitPattern: bits)
    }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var worst: Float = 0
    for i in a.indices {
        let d = abs(a[i] - b[i])
        if d.isNaN { return .nan }
        worst = max(worst, d)
    }
    return worst
}

/// FNV-1a 64 over the little-endian bytes of the floats (the fixture's hash).
func fnv1a64(_ values: [Float]) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for value in values {
        var bits = value.bitPattern.littleEndian
        for _ in 0..<4 {
            hash ^= UInt64(bits & 0xFF)
            hash &*= 0x0000_0100_0000_01B3
            bits >>= 8
        }
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

/// Passes draws through and keeps them, to compare the noise a scheduler used.
struct RecordingRandomSource<Base: RandomSource>: RandomSource {
    var base: Base
    var draws: [[Float]] = []

    mutating func normal(count: Int) -> [Float] {
        let values = base.normal(count: count)
        draws.append(values)
        return values
    }
}
