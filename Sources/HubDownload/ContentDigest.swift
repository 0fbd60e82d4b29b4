import Crypto
import Foundation

/// The hash a file's bytes must have. The Hub gives LFS files (the weights)
/// their sha256, and other files (configs, tokenizer) their git blob id:
/// sha1 of `"blob <size>\0"` followed by the content.
public enum ContentDigest: Sendable, Equatable, CustomStringConvertible {
    case sha256(String)
    case gitBlobSHA1(String)
    /// Nothing to check but the size.
    case none

    public var description: String {
        switch self {
        case .sha256(let hex): "sha256:\(hex)"
        case .gitBlobSHA1(let hex): "git-sha1:\(hex)"
        case .none: "size only"
        }
    }

    var expectedHex: String? {
        switch self {
        case .sha256(let hex), .gitBlobSHA1(let hex): hex
        case .none: nil
        }
    }
}

/// Hashes a file's bytes as they stream past, for one `ContentDigest`.
public struct StreamingHasher: Sendable {
    private enum State {
        case sha256(SHA256)
        case sha1(Insecure.SHA1)
        case none
    }

    private var state: State
    public private(set) var byteCount: Int64 = 0

    /// `size` is the file's full size (part of a git blob's header).
    public init(for digest: ContentDigest, size: Int64) {
        switch digest {
        case .sha256:
            state = .sha256(SHA256())
        case .gitBlobSHA1:
            var sha1 = Insecure.SHA1()
            sha1.update(data: Data("blob \(size)\0".utf8))
            state = .sha1(sha1)
        case .none:
            state = .none
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        byteCount += Int64(bytes.count)
        switch state {
        case .sha256(var hasher):
            hasher.update(bufferPointer: bytes)
            state = .sha256(hasher)
        case .sha1(var hasher):
            hasher.update(bufferPointer: bytes)
            state = .sha1(hasher)
        case .none:
            break
        }
    }

    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// The lower-case hex digest (nil for `.none`).
    public func finalize() -> String? {
        switch state {
        case .sha256(let hasher): Self.hex(hasher.finalize())
        case .sha1(let hasher): Self.hex(hasher.finalize())
        case .none: nil
        }
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
