import Models

/// A LoRA as a model loaded it: the parsed file, the name A1111 records it
/// by (the file stem), its short hash and the multipliers.
public struct AppliedLoRA: Sendable {
    public let file: LoRAFile
    public let shortHash: String
    public let textEncoderWeight: Float
    public let unetWeight: Float

    public var name: String { file.name }

    /// What decides the weights: the same files at the same multipliers load the same model.
    var identity: [String] { [file.url.standardizedFileURL.path, "\(textEncoderWeight)", "\(unetWeight)"] }

    var entry: LoRAStack.Entry {
        LoRAStack.Entry(file: file, textEncoderMultiplier: textEncoderWeight, unetMultiplier: unetWeight)
    }
}
