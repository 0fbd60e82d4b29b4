import Foundation
import SafeTensors
import TensorCore

extension BertModel {
    /// Loads a Hugging Face BERT folder: config.json and model.safetensors
    /// (with or without the `bert.` prefix; pre-training heads are ignored),
    /// weights in `dtype` (nil: as the backend keeps such a file's).
    public init(folder: URL, backend: any Backend, dtype: DType? = .f32) throws {
        let config = folder.appendingPathComponent("config.json")
        let weights = folder.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: config.path) else {
            throw ModelLoadError.unrecognisedCheckpoint("\(folder.path): not a BERT folder (no config.json)")
        }
        guard FileManager.default.fileExists(atPath: weights.path) else {
            let pickled = folder.appendingPathComponent("pytorch_model.bin")
            throw ModelLoadError.unrecognisedCheckpoint(FileManager.default.fileExists(atPath: pickled.path)
                ? "\(folder.path): only pytorch_model.bin; sdgen reads model.safetensors (pickle files can run code)"
                : "\(folder.path): no model.safetensors")
        }
        let source = WeightSource(files: [try SafeTensorsFile(url: weights)], backend: backend, dtype: dtype,
                                  keyMap: CheckpointKeyMap.bertFolder)
        try self.init(configuration: BertConfiguration.load(config), weights: source.root)
    }
}
