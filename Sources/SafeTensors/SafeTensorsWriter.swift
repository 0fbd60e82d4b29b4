import Foundation
import TensorCore

/// Writes safetensors files: synthesised weights for the benchmarks and
/// hand-made files for tests. Data is 8-byte aligned as the format recommends.
public enum SafeTensorsWriter {
    public struct Entry {
        public let name: String
        public let dtype: StoredDType
        public let shape: [Int]
        public let bytes: Data

        public init(name: String, dtype: StoredDType, shape: [Int], bytes: Data) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        public init(name: String, shape: [Int], floats: [Float]) {
            self.init(name: name, dtype: .f32, shape: shape,
                      bytes: floats.withUnsafeBytes { Data($0) })
        }
    }

    /// The file's bytes: length, JSON header (space-padded to 8 bytes), data.
    public static func encode(_ entries: [Entry], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for entry in entries {
            header[entry.name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape,
                                  "data_offsets": [offset, offset + entry.bytes.count]]
            offset += entry.bytes.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var data = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for entry in entries { data.append(entry.bytes) }
        return data
    }

    public static func write(_ entries: [Entry], metadata: [String: String] = [:], to url: URL) throws {
        try encode(entries, metadata: metadata).write(to: url, options: .atomic)
    }
}
