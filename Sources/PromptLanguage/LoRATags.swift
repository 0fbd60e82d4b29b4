import Foundation

/// A1111's extra-network tags in a prompt (modules/extra_networks.py):
/// `<lora:NAME>`, `<lora:NAME:WEIGHT>`, `<lora:NAME:TE:UNET>` or named
/// `te=`/`unet=` arguments (`lyco` is the same). Every `<type:…>` tag is
/// removed from the text before encoding, as A1111 does; the stored prompt keeps them.
public enum LoRATags {
    /// The prompt without its tags, the LoRAs they name, and a warning for
    /// each tag of a kind sdgen does not apply (hypernetworks).
    public static func extract(_ prompt: String) throws(LoRATagError) -> (text: String, loras: [LoRASelection], ignored: [String]) {
        var text = "", loras: [LoRASelection] = [], ignored: [String] = []
        var rest = Substring(prompt)
        while let open = rest.firstIndex(of: "<") {
            text += rest[..<open]
            let body = rest[rest.index(after: open)...]
            // A1111's `<(\w+):([^>]+)>`: a word, a colon, then anything up to `>`.
            let kind = body.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            guard !kind.isEmpty, body.dropFirst(kind.count).first == ":" else {
                text += "<"
                rest = body
                continue
            }
            let arguments = body.dropFirst(kind.count + 1)
            guard let close = arguments.firstIndex(of: ">"), close != arguments.startIndex else {
                if ["lora", "lyco"].contains(kind) {
                    // `<lora:>` closes but names nothing.
                    if arguments.first == ">" { throw .noName(String(rest[open...arguments.startIndex])) }
                    throw .unclosed(String(rest[open...].prefix(40)))
                }
                text += "<"
                rest = body
                continue
            }
            let tag = String(rest[open...close])
            if ["lora", "lyco"].contains(kind) {
                loras.append(try selection(arguments[..<close].split(separator: ":", omittingEmptySubsequences: false)
                    .map(String.init), tag: tag))
            } else {
                ignored.append(tag)
            }
            rest = arguments[arguments.index(after: close)...]
        }
        return (text + rest, loras, ignored)
    }

    /// A1111's `ExtraNetworkParams` read as extra_networks_lora does: name,
    /// then the text-encoder multiplier, then the UNet's (default: the text encoder's).
    private static func selection(_ items: [String], tag: String) throws(LoRATagError) -> LoRASelection {
        var positional: [String] = [], named: [String: String] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { named[parts[0]] = parts[1] } else { positional.append(item) }
        }
        guard let name = positional.first, !name.isEmpty else { throw .noName(tag) }
        func number(_ text: String?) throws(LoRATagError) -> Float? {
            guard let text else { return nil }
            guard let value = Float(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                throw .badWeight(tag, text)
            }
            return value
        }
        let te = try number(named["te"] ?? (positional.count > 1 ? positional[1] : nil)) ?? 1
        let unet = try number(named["unet"] ?? (positional.count > 2 ? positional[2] : nil)) ?? te
        return LoRASelection(name, textEncoderWeight: te, unetWeight: unet)
    }
}

public enum LoRATagError: Error, CustomStringConvertible, Equatable {
    case unclosed(String)
    case noName(String)
    case badWeight(String, String)

    public var description: String {
        switch self {
        case .unclosed(let start): "prompt: '\(start)' has no closing '>'"
        case .noName(let tag): "prompt: \(tag) names no LoRA"
        case let .badWeight(tag, weight): "prompt: the weight '\(weight)' in \(tag) is not a number"
        }
    }
}
