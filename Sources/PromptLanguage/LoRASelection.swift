/// A LoRA a request asks for: a file path or a name under the LoRA folder
/// (A1111's `<lora:NAME:…>`), at a multiplier for the text encoder and one for the UNet.
public struct LoRASelection: Sendable, Hashable {
    public var name: String
    public var textEncoderWeight: Float
    public var unetWeight: Float

    public init(_ name: String, textEncoderWeight: Float = 1, unetWeight: Float? = nil) {
        self.name = name
        self.textEncoderWeight = textEncoderWeight
        self.unetWeight = unetWeight ?? textEncoderWeight
    }

    /// `FILE[:WEIGHT]`, as `--lora` takes it (a path may itself hold `:`; only a
    /// final `:number` is a weight).
    public init?(argument: String) {
        if let colon = argument.lastIndex(of: ":"), let weight = Float(argument[argument.index(after: colon)...]) {
            guard weight.isFinite, colon != argument.startIndex else { return nil }
            self.init(String(argument[..<colon]), textEncoderWeight: weight)
        } else {
            guard !argument.isEmpty else { return nil }
            self.init(argument)
        }
    }
}
