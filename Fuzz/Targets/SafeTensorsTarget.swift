import Foundation
import Models
import PromptLanguage
import SafeTensors
import TensorCore

extension FuzzTarget {
    /// A `.safetensors` file: header, offsets, dtypes, shapes; then the
    /// architecture read off a single-file checkpoint's tensors, built on the
    /// FLOP counter (shapes only); the file as a textual-inversion embedding
    /// and as a LoRA (its modules validated and, when one fits a small weight, merged).
    static let safetensors = FuzzTarget(name: "safetensors", input: "a .safetensors file") { data in
        let folder = Scratch.write(["model.safetensors": data])
        let url = folder.appendingPathComponent("model.safetensors")
        guard let file = try? SafeTensorsFile(url: url) else { return }
        for name in file.names.prefix(64) { _ = try? file.floats(name) }
        _ = try? StableDiffusionCheckpoint(url: url, backend: FLOPCounter())
        _ = try? TextualInversionLibrary(folder: folder)
        if let lora = try? LoRAFile(url: url) {
            for module in lora.modules.values where module.outputs * module.inputs <= 1 << 20 {
                var weight = [Float](repeating: 0, count: module.outputs * module.inputs)
                try? weight.withUnsafeMutableBufferPointer { try module.addChange(into: $0, multiplier: 0.5) }
            }
        }
    }
}
