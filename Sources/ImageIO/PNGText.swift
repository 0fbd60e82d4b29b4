/// PNG text chunks' byte rules. tEXt holds Latin-1 only, so anything
/// beyond ASCII is written as iTXt (UTF-8), as Pillow and therefore A1111
/// do for text Latin-1 cannot hold; every common reader handles both.
enum PNGText {
    struct Encoded {
        var key: [UInt8]
        var value: [UInt8]
        /// Write as iTXt.
        var isUTF8: Bool
    }

    /// Checks the key against the PNG rules (1–79 printable Latin-1
    /// characters, no leading, trailing or double spaces — libpng would
    /// otherwise silently rewrite it) and picks the chunk type for the value.
    static func encode(key: String, value: String) throws(ImageIOError) -> Encoded {
        var keyBytes: [UInt8] = []
        for scalar in key.unicodeScalars {
            guard (32...126).contains(scalar.value) || (161...255).contains(scalar.value) else {
                throw .invalidTextChunk(key: key, reason: "keys may hold only printable Latin-1 characters")
            }
            keyBytes.append(UInt8(scalar.value))
        }
        guard (1...79).contains(keyBytes.count) else {
            throw .invalidTextChunk(key: key, reason: "keys must be 1 to 79 characters long")
        }
        guard keyBytes.first != 32, keyBytes.last != 32,
              !zip(keyBytes, keyBytes.dropFirst()).contains(where: { $0 == 32 && $1 == 32 }) else {
            throw .invalidTextChunk(key: key, reason: "keys may not start or end with a space or hold two in a row")
        }
        let valueBytes = Array(value.utf8)
        guard !valueBytes.contains(0) else {
            throw .invalidTextChunk(key: key, reason: "the value contains a NUL character")
        }
        return Encoded(key: keyBytes, value: valueBytes, isUTF8: valueBytes.contains { $0 >= 0x80 })
    }

    /// Text from a chunk's bytes: UTF-8 for iTXt; Latin-1 for tEXt/zTXt as the
    /// standard says — except that some tools put UTF-8 into tEXt, and bytes
    /// that are valid UTF-8 with non-ASCII in them are almost never meant as
    /// Latin-1, so those are read as UTF-8.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, isUTF8: Bool) -> String {
        if isUTF8 { return String(decoding: bytes, as: UTF8.self) }
        if bytes.contains(where: { $0 >= 0x80 }), let text = String(validating: bytes, as: UTF8.self) {
            return text
        }
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(Unicode.Scalar(byte)) }
        return String(text)
    }
}
