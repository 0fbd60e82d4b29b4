import Foundation

/// Reads a Hugging Face config.json into a configuration type, naming the
/// file in the error.
func loadConfiguration<T: Decodable>(_ type: T.Type, from url: URL, what: String) throws -> T {
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        throw ModelLoadError.invalidConfiguration("\(url.path): cannot read the \(what) config")
    }
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
        let key = context.codingPath.map(\.stringValue).joined(separator: ".")
        throw ModelLoadError.invalidConfiguration("\(url.path): \(what) config key '\(key)' has the wrong type")
    } catch {
        throw ModelLoadError.invalidConfiguration("\(url.path): not a valid \(what) config (malformed JSON)")
    }
}

extension KeyedDecodingContainer {
    /// Overwrites `value` with the key's value when the config has it, so
    /// keys a file leaves out keep the reference class's default.
    func update<T: Decodable>(_ value: inout T, _ key: Key) throws {
        if let decoded = try decodeIfPresent(T.self, forKey: key) { value = decoded }
    }
}
