import Foundation
import SafeTensors
import TensorCore

/// Tensors by name from one or more safetensors files, checked for presence
/// and shape as they are taken and converted once to the backend's compute
/// dtype. Models ask for diffusers/transformers names; `keyMap` translates
/// them to the names a file actually uses (the original single-file layout,
/// a `bert.` prefix, …).
public final class WeightSource: @unchecked Sendable {
    public let backend: any Backend
    public let dtype: DType
    public let description: String
    private let files: [SafeTensorsFile]
    private let keyMap: @Sendable (String) -> [String]

    /// - Parameter keyMap: candidate file names for a model key, tried in order.
    public init(files: [SafeTensorsFile], backend: any Backend, dtype: DType = .f32,
                description: String? = nil, keyMap: @escaping @Sendable (String) -> [String] = { [$0] }) {
        self.files = files
        self.backend = backend
        self.dtype = dtype
        self.keyMap = keyMap
        self.description = description ?? files.map(\.url.lastPathComponent).joined(separator: ", ")
    }

    /// The same files seen through another key map (one per model of a
    /// single-file checkpoint).
    public func remapped(_ keyMap: @escaping @Sendable (String) -> [String]) -> WeightSource {
        WeightSource(files: files, backend: backend, dtype: dtype, description: description, keyMap: keyMap)
    }

    /// Where a model key lives, if anywhere.
    public func locate(_ key: String) -> (file: SafeTensorsFile, info: TensorInfo)? {
        for candidate in keyMap(key) {
            for file in files {
                if let info = file.info(candidate) { return (file, info) }
            }
        }
        return nil
    }

    public func contains(_ key: String) -> Bool { locate(key) != nil }

    /// The stored shape of a key, for inferring hyperparameters.
    public func shape(of key: String) -> [Int]? { locate(key)?.info.shape }

    /// A tensor that must exist with exactly `shape` (element count equal is
    /// accepted when `reshape` is set: 1×1 conv kernels stored as [C, C, 1, 1]).
    public func tensor(_ key: String, shape: [Int], allowReshape: Bool = false) throws -> Tensor {
        guard let (file, info) = locate(key) else {
            throw ModelLoadError.missingTensor(key: key, expectedShape: shape, source: description)
        }
        guard info.shape == shape || (allowReshape && info.count == shape.reduce(1, *)) else {
            throw ModelLoadError.shapeMismatch(key: info.name, expected: shape, found: info.shape, source: description)
        }
        guard info.dtype.tensorDType != nil else {
            throw ModelLoadError.unsupportedDType(key: info.name, dtype: info.dtype.rawValue, source: description)
        }
        return try file.tensor(info.name, on: backend, as: dtype).reshaped(shape)
    }

    /// A view that prefixes every key with `prefix.`.
    public func scope(_ prefix: String) -> Weights { Weights(source: self, prefix: prefix) }
    public var root: Weights { Weights(source: self, prefix: "") }
}

/// A position in the model's parameter tree ("down_blocks.0.resnets.1"),
/// so each layer asks for its tensors by their local names.
public struct Weights: Sendable {
    public let source: WeightSource
    public let prefix: String

    public var backend: any Backend { source.backend }

    public func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    public func callAsFunction(_ name: String) -> Weights { Weights(source: source, prefix: key(name)) }
    public func callAsFunction(_ index: Int) -> Weights { self(String(index)) }

    public func tensor(_ name: String, shape: [Int], allowReshape: Bool = false) throws -> Tensor {
        try source.tensor(key(name), shape: shape, allowReshape: allowReshape)
    }

    public func contains(_ name: String) -> Bool { source.contains(key(name)) }
    public func shape(of name: String) -> [Int]? { source.shape(of: key(name)) }
}
