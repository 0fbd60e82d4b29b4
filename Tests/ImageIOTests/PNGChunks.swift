import Foundation

/// An independent reader of a PNG's chunk structure (signature, lengths,
/// CRCs), so tests check the files libpng writes without trusting libpng,
/// and can splice in chunks other writers would produce.
struct PNGChunks {
    struct Chunk: Equatable {
        var type: String
        var data: [UInt8]
    }

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    var chunks: [Chunk]

    enum Failure: Error { case badSignature, truncated, badCRC(String) }

    init(_ bytes: [UInt8]) throws {
        guard bytes.starts(with: Self.signature) else { throw Failure.badSignature }
        var chunks: [Chunk] = []
        var offset = 8
        while offset < bytes.count {
            guard offset + 12 <= bytes.count else { throw Failure.truncated }
            let length = Int(Self.bigEndian(bytes, at: offset))
            guard offset + 12 + length <= bytes.count else { throw Failure.truncated }
            let typeAndData = Array(bytes[(offset + 4)..<(offset + 8 + length)])
            let type = String(decoding: typeAndData[0..<4], as: UTF8.self)
            guard Self.bigEndian(bytes, at: offset + 8 + length) == Self.crc32(typeAndData) else {
                throw Failure.badCRC(type)
            }
            chunks.append(Chunk(type: type, data: Array(typeAndData[4...])))
            offset += 12 + length
        }
        self.chunks = chunks
    }

    var bytes: [UInt8] {
        var bytes = Self.signature
        for chunk in chunks { bytes += Self.encode(chunk) }
        return bytes
    }

    static func encode(_ chunk: Chunk) -> [UInt8] {
        let typeAndData = Array(chunk.type.utf8) + chunk.data
        return bigEndianBytes(UInt32(chunk.data.count)) + typeAndData + bigEndianBytes(crc32(typeAndData))
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    static func bigEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func bigEndianBytes(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
