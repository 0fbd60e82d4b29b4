/// GPT-2's reversible byte-to-character table, which CLIP's BPE works in:
/// every byte becomes a printable character so that merges never see raw
/// whitespace or control bytes. Printable Latin-1 bytes stand for
/// themselves; the other 68 bytes borrow the characters from U+0100 on.
enum ByteLevelAlphabet {
    /// The bytes in the order their characters open the CLIP vocabulary:
    /// the self-standing ones first, then the rest in increasing order.
    static let vocabularyOrder: [UInt8] = {
        let standing = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let others = (0...0xFF).filter { !standing.contains($0) }
        return (standing + others).map { UInt8($0) }
    }()

    /// The character each byte is written as.
    static let characterForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var borrowed: UInt32 = 0x100
        for byte in 0...0xFF {
            let standsForItself = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if standsForItself {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(borrowed)!
                borrowed += 1
            }
        }
        return table
    }()

    /// The inverse of `characterForByte`, indexed by scalar value (all of
    /// them are below U+0144).
    static let byteForCharacter: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in characterForByte.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    static func string(for byte: UInt8) -> String {
        String(Character(characterForByte[Int(byte)]))
    }

    /// The bytes a token's characters stand for; characters outside the
    /// table (those of added tokens) are kept as their own UTF-8.
    static func appendBytes(of token: String, to bytes: inout [UInt8]) {
        for scalar in token.unicodeScalars {
            let v = Int(scalar.value)
            if v < byteForCharacter.count, byteForCharacter[v] >= 0 {
                bytes.append(UInt8(byteForCharacter[v]))
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
    }
}
