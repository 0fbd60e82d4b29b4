import Foundation

/// A gzip (RFC 1952) reader with its own DEFLATE (RFC 1951) decoder, so the
/// bundled CLIP merges can ship compressed without a zlib dependency.
/// Checks the CRC-32 and length in the trailer, so a damaged file is an
/// error rather than a wrong vocabulary.
@_spi(Testing) public enum Gzip {
    public static func decompress(_ data: [UInt8], source: String) throws -> [UInt8] {
        func fail(_ problem: String) -> TokenizerError { TokenizerError("not a valid gzip file (\(problem))", path: source) }
        guard data.count >= 18, data[0] == 0x1F, data[1] == 0x8B else { throw fail("bad magic number") }
        guard data[2] == 8 else { throw fail("compression method \(data[2]) is not deflate") }
        let flags = data[3]
        var offset = 10
        if flags & 0x04 != 0 {  // FEXTRA
            guard offset + 2 <= data.count else { throw fail("truncated header") }
            offset += 2 + (Int(data[offset]) | Int(data[offset + 1]) << 8)
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT: NUL-terminated
            while offset < data.count, data[offset] != 0 { offset += 1 }
            offset += 1
        }
        if flags & 0x02 != 0 { offset += 2 }  // FHCRC
        guard offset < data.count else { throw fail("truncated header") }

        var inflater = Inflater(input: data, position: offset)
        let output: [UInt8]
        do {
            output = try inflater.run()
        } catch let error as Inflater.Failure {
            throw fail(error.reason)
        }
        let end = inflater.bytePosition
        guard end + 8 <= data.count else { throw fail("truncated trailer") }
        let crc = readLE32(data, end)
        let size = readLE32(data, end + 4)
        guard size == UInt32(truncatingIfNeeded: output.count) else { throw fail("length mismatch") }
        guard crc == CRC32.checksum(output) else { throw fail("CRC mismatch") }
        return output
    }

    private static func readLE32(_ d: [UInt8], _ i: Int) -> UInt32 {
        UInt32(d[i]) | UInt32(d[i + 1]) << 8 | UInt32(d[i + 2]) << 16 | UInt32(d[i + 3]) << 24
    }
}

private enum CRC32 {
    static let table: [UInt32] = (0 ..< 256).map { n in
        var c = UInt32(n)
        for _ in 0 ..< 8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

/// Canonical Huffman decoding through one lookup table indexed by the next
/// `maxLength` bits (codes are at most 15 bits, so tables stay ≤ 32 Ki).
private struct HuffmanTable {
    /// symbol << 4 | code length; 0 marks an unused slot.
    let entries: [UInt32]
    let maxLength: Int

    init(lengths: [Int]) throws {
        let maxLength = max(1, lengths.max() ?? 1)
        var countPerLength = [Int](repeating: 0, count: 16)
        for l in lengths where l > 0 { countPerLength[l] += 1 }
        var next = [Int](repeating: 0, count: 16)
        var code = 0
        for bits in 1 ... 15 {
            code = (code + countPerLength[bits - 1]) << 1
            next[bits] = code
        }
        var entries = [UInt32](repeating: 0, count: 1 << maxLength)
        for (symbol, length) in lengths.enumerated() where length > 0 {
            let code = next[length]
            next[length] += 1
            guard code < 1 << length else { throw Inflater.Failure(reason: "over-subscribed Huffman code") }
            // Codes are sent most significant bit first but the bit reader
            // is least significant first, so index by the reversed code.
            var reversed = 0
            for i in 0 ..< length where code & (1 << i) != 0 { reversed |= 1 << (length - 1 - i) }
            var slot = reversed
            while slot < entries.count {
                entries[slot] = UInt32(symbol) << 4 | UInt32(length)
                slot += 1 << length
            }
        }
        self.entries = entries
        self.maxLength = maxLength
    }
}

private struct Inflater {
    struct Failure: Error { let reason: String }

    let input: [UInt8]
    var position: Int
    var bitBuffer: UInt64 = 0
    var bitCount = 0
    var output: [UInt8] = []

    init(input: [UInt8], position: Int) {
        self.input = input
        self.position = position
    }

    /// The first byte after the DEFLATE stream (its last partial byte skipped).
    var bytePosition: Int { position - bitCount / 8 }

    mutating func fill(_ count: Int) throws {
        while bitCount < count {
            guard position < input.count else { throw Failure(reason: "truncated data") }
            bitBuffer |= UInt64(input[position]) << UInt64(bitCount)
            position += 1
            bitCount += 8
        }
    }

    mutating func bits(_ count: Int) throws -> Int {
        if count == 0 { return 0 }
        try fill(count)
        let value = Int(bitBuffer & ((1 << UInt64(count)) - 1))
        bitBuffer >>= UInt64(count)
        bitCount -= count
        return value
    }

    mutating func decode(_ table: HuffmanTable) throws -> Int {
        // Near the end of the input fewer than maxLength bits may remain;
        // take what there is and let the entry's length decide.
        while bitCount < table.maxLength, position < input.count {
            bitBuffer |= UInt64(input[position]) << UInt64(bitCount)
            position += 1
            bitCount += 8
        }
        let entry = table.entries[Int(bitBuffer & ((1 << UInt64(table.maxLength)) - 1))]
        let length = Int(entry & 0xF)
        guard length > 0, length <= bitCount else { throw Failure(reason: "invalid Huffman code") }
        bitBuffer >>= UInt64(length)
        bitCount -= length
        return Int(entry >> 4)
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    mutating func run() throws -> [UInt8] {
        var last = false
        while !last {
            last = try bits(1) == 1
            switch try bits(2) {
            case 0: try storedBlock()
            case 1: try compressedBlock(try Self.fixedTables())
            case 2: try compressedBlock(try dynamicTables())
            default: throw Failure(reason: "reserved block type")
            }
        }
        return output
    }

    mutating func storedBlock() throws {
        bitBuffer >>= UInt64(bitCount % 8)
        bitCount -= bitCount % 8
        let length = try bits(16)
        let complement = try bits(16)
        guard length == ~complement & 0xFFFF else { throw Failure(reason: "stored block length check") }
        for _ in 0 ..< length { output.append(UInt8(try bits(8))) }
    }

    static func fixedTables() throws -> (HuffmanTable, HuffmanTable) {
        let literal = Array(repeating: 8, count: 144) + Array(repeating: 9, count: 112)
            + Array(repeating: 7, count: 24) + Array(repeating: 8, count: 8)
        return (try HuffmanTable(lengths: literal), try HuffmanTable(lengths: Array(repeating: 5, count: 30)))
    }

    mutating func dynamicTables() throws -> (HuffmanTable, HuffmanTable) {
        let literalCount = try bits(5) + 257
        let distanceCount = try bits(5) + 1
        let codeLengthCount = try bits(4) + 4
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var codeLengths = [Int](repeating: 0, count: 19)
        for i in 0 ..< codeLengthCount { codeLengths[order[i]] = try bits(3) }
        let codeLengthTable = try HuffmanTable(lengths: codeLengths)

        var lengths: [Int] = []
        while lengths.count < literalCount + distanceCount {
            let symbol = try decode(codeLengthTable)
            switch symbol {
            case 0 ... 15: lengths.append(symbol)
            case 16:
                guard let previous = lengths.last else { throw Failure(reason: "repeat with no previous length") }
                lengths += repeatElement(previous, count: 3 + (try bits(2)))
            case 17: lengths += repeatElement(0, count: 3 + (try bits(3)))
            default: lengths += repeatElement(0, count: 11 + (try bits(7)))
            }
        }
        guard lengths.count == literalCount + distanceCount else { throw Failure(reason: "too many code lengths") }
        return (try HuffmanTable(lengths: Array(lengths[..<literalCount])),
                try HuffmanTable(lengths: Array(lengths[literalCount...])))
    }

    mutating func compressedBlock(_ tables: (HuffmanTable, HuffmanTable)) throws {
        while true {
            let symbol = try decode(tables.0)
            if symbol < 256 {
                output.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let index = symbol - 257
                guard index < Self.lengthBase.count else { throw Failure(reason: "invalid length symbol") }
                let length = Self.lengthBase[index] + (try bits(Self.lengthExtra[index]))
                let distanceSymbol = try decode(tables.1)
                guard distanceSymbol < Self.distanceBase.count else { throw Failure(reason: "invalid distance symbol") }
                let distance = Self.distanceBase[distanceSymbol] + (try bits(Self.distanceExtra[distanceSymbol]))
                guard distance <= output.count else { throw Failure(reason: "distance too far back") }
                let start = output.count - distance
                for i in 0 ..< length { output.append(output[start + i]) }
            }
        }
    }
}
