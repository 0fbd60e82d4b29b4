/// The settings that produced an image, stored in its PNG as the `parameters`
/// text chunk in the AUTOMATIC1111 ("A1111") web UI's format, which most Stable
/// Diffusion tools (image browsers, "PNG info" tabs, civitai) read:
///
///     a photo of a cat, best quality
///     Negative prompt: blurry
///     Steps: 50, Sampler: PNDM, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: v1-5
///
/// `a1111Text` writes it the way A1111's `create_infotext` does and
/// `init(a1111Text:)` reads it the way A1111's `parse_generation_parameters`
/// does, so a file means the same thing here as there (see `A1111Infotext`).
public struct GenerationParameters: Sendable, Equatable {
    /// A `Key: value` entry of the parameter line beyond the fixed ones
    /// ("Clip skip", "Schedule type", "Version", …), kept in order.
    public struct Field: Sendable, Equatable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public var prompt: String
    /// Empty when there was none; then the `Negative prompt:` line is left out, as in A1111.
    public var negativePrompt: String
    public var steps: Int
    /// The sampler's display name as A1111 spells it ("Euler a", "DPM++ 2M Karras", "PNDM").
    public var sampler: String
    public var cfgScale: Double
    public var seed: UInt64
    public var width: Int
    public var height: Int
    /// Written before `Model`, where A1111 puts it.
    public var modelHash: String?
    public var model: String?
    /// Written after `Model`, in this order.
    public var extras: [Field]

    public init(prompt: String, negativePrompt: String = "", steps: Int, sampler: String,
                cfgScale: Double, seed: UInt64, width: Int, height: Int,
                modelHash: String? = nil, model: String? = nil, extras: [Field] = []) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.steps = steps
        self.sampler = sampler
        self.cfgScale = cfgScale
        self.seed = seed
        self.width = width
        self.height = height
        self.modelHash = modelHash
        self.model = model
        self.extras = extras
    }

    /// The value of an extra field, if present (the last one when repeated).
    public func extra(_ key: String) -> String? {
        extras.last(where: { $0.key == key })?.value
    }

    /// The parameter line's fields in A1111's order: Steps, Sampler, CFG scale,
    /// Seed, Size, Model hash, Model, then the extras.
    public var fields: [Field] {
        var fields = [
            Field(key: "Steps", value: String(steps)),
            Field(key: "Sampler", value: sampler),
            // Python's str(float): 7.0 → "7.0", 7.5 → "7.5"; Swift's
            // description prints the same shortest round-trip digits.
            Field(key: "CFG scale", value: String(describing: cfgScale)),
            Field(key: "Seed", value: String(seed)),
            Field(key: "Size", value: "\(width)x\(height)"),
        ]
        if let modelHash { fields.append(Field(key: "Model hash", value: modelHash)) }
        if let model { fields.append(Field(key: "Model", value: model)) }
        fields.append(contentsOf: extras)
        return fields
    }

    /// The text for the PNG `parameters` chunk, exactly as A1111 writes it.
    public var a1111Text: String {
        A1111Infotext.render(prompt: prompt, negativePrompt: negativePrompt, fields: fields)
    }

    /// Reads text written by A1111 (or by `a1111Text`). Lines of a multi-line
    /// prompt come back with their surrounding whitespace trimmed, as A1111
    /// trims them. Fields beyond the fixed ones land in `extras`.
    public init(a1111Text text: String) throws(GenerationParametersError) {
        let parsed = A1111Infotext.parse(text)
        guard !parsed.fields.isEmpty else { throw .missingParameterLine }

        // A1111 reads fields into a dictionary, so a repeated key's last value wins.
        var known: [String: String] = [:]
        var extras: [Field] = []
        for field in parsed.fields {
            switch field.key {
            case "Steps", "Sampler", "CFG scale", "Seed", "Size", "Model hash", "Model":
                known[field.key] = field.value
            default:
                extras.removeAll { $0.key == field.key }
                extras.append(field)
            }
        }

        func required(_ key: String) throws(GenerationParametersError) -> String {
            guard let value = known[key] else { throw .missingField(key) }
            return value
        }
        // Trimmed first: Python's int() and float(), which A1111 uses, ignore surrounding blanks.
        func number<T: LosslessStringConvertible>(_ key: String, as _: T.Type) throws(GenerationParametersError) -> T {
            let value = try required(key)
            guard let number = T(A1111Infotext.strip(value)) else { throw .invalidValue(field: key, value: value) }
            return number
        }

        let size = A1111Infotext.strip(try required("Size"))
        let sides = size.split(separator: "x", omittingEmptySubsequences: false)
        guard sides.count == 2, sides.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }),
              let width = Int(sides[0]), let height = Int(sides[1])
        else { throw .invalidValue(field: "Size", value: size) }

        self.init(prompt: parsed.prompt,
                  negativePrompt: parsed.negativePrompt,
                  steps: try number("Steps", as: Int.self),
                  sampler: try required("Sampler"),
                  cfgScale: try number("CFG scale", as: Double.self),
                  seed: try number("Seed", as: UInt64.self),
                  width: width,
                  height: height,
                  modelHash: known["Model hash"],
                  model: known["Model"],
                  extras: extras)
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
