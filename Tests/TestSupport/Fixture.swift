import Foundation
import SafeTensors
import TensorCore

/// One reference fixture file: tensors recorded from PyTorch plus the op's
/// parameters as string metadata (see Tests/Fixtures/README.md).
public struct Fixture {
    public let file: SafeTensorsFile

    public init(_ relativePath: String) throws {
        file = try SafeTensorsFile(url: FixturePaths.url(relativePath))
    }

    public func floats(_ name: String) throws -> [Float] { try file.floats(name) }
    public func integers(_ name: String) throws -> [Int64] { try file.integers(name) }
    public func shape(_ name: String) -> [Int] { file.info(name)?.shape ?? [] }

    /// The tensor as recorded (PyTorch layout) on `backend`.
    public func tensor(_ name: String, on backend: any Backend) throws -> Tensor {
        try file.tensor(name, on: backend, as: .f32)
    }

    /// An NCHW image tensor moved to sdgen's NHWC.
    public func imageNHWC(_ name: String, on backend: any Backend) throws -> Tensor {
        try tensor(name, on: backend).permuted([0, 2, 3, 1])
    }

    public func string(_ key: String) -> String? { file.metadata[key] }
    public func int(_ key: String) -> Int? { file.metadata[key].flatMap { Int($0) } }
    public func float(_ key: String) -> Float? { file.metadata[key].flatMap { Float($0) } }
    public func bool(_ key: String) -> Bool { file.metadata[key] == "1" || file.metadata[key] == "true" }
}
