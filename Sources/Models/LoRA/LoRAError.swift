/// Why a LoRA cannot be applied, as one line naming the file and the module.
public enum LoRAError: Error, CustomStringConvertible, Equatable {
    /// No lora_down/lora_up (or lora_A/lora_B) pairs at all.
    case notALoRA(path: String)
    /// A LyCORIS network type other than LoRA/LoCon (LoHa, LoKr, OFT, DoRA, …).
    case unsupportedNetwork(path: String, module: String, kind: String)
    /// A module whose tensors do not make a LoRA (a half missing, ranks or shapes inconsistent).
    case malformedModule(path: String, module: String, problem: String)
    /// The change a module makes does not fit the model weight it names.
    case shapeMismatch(path: String, module: String, change: [Int], key: String, weight: [Int])
    /// Made for another model family (an SDXL LoRA on SD 1.x).
    case wrongFamily(path: String, lora: String, model: String)
    /// `--strict-lora`: modules that match nothing in the model.
    case unmatchedModules(path: String, modules: [String])

    public var description: String {
        switch self {
        case let .notALoRA(path):
            "\(path): not a LoRA (no lora_down/lora_up or lora_A/lora_B weights)"
        case let .unsupportedNetwork(path, module, kind):
            "\(path): module '\(module)' is a \(kind) network; sdgen applies LoRA and LoCon (lora_down/lora_up/lora_mid)"
        case let .malformedModule(path, module, problem):
            "\(path): LoRA module '\(module)' \(problem)"
        case let .shapeMismatch(path, module, change, key, weight):
            "\(path): LoRA module '\(module)' changes a \(change) weight but the model's '\(key)' is \(weight) (a LoRA for another model?)"
        case let .wrongFamily(path, lora, model):
            "\(path): a LoRA for \(lora) cannot be applied to this \(model) model"
        case let .unmatchedModules(path, modules):
            "\(path): \(modules.count) LoRA module\(modules.count == 1 ? "" : "s") match nothing in the model: "
                + modules.prefix(3).joined(separator: ", ") + (modules.count > 3 ? ", …" : "")
        }
    }
}
