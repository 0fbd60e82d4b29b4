/// Token strings by id, from a vocabulary's token → id map. Ids of real
/// vocabularies are dense (0 to about the token count); a file whose ids are
/// negative or far past the count is refused before a table that size is made.
enum TokenTable {
    static func make(_ ids: [String: Int32], source: String) throws -> [String] {
        let largest = Int(ids.values.max() ?? -1)
        let limit = 2 * ids.count + 1024
        guard largest < limit else {
            throw TokenizerError("token ids run to \(largest) for \(ids.count) tokens; the vocabulary is corrupt",
                                 path: source)
        }
        var tokens = [String](repeating: "", count: largest + 1)
        for (token, id) in ids {
            guard id >= 0 else { throw TokenizerError("token '\(token)' has a negative id \(id)", path: source) }
            tokens[Int(id)] = token
        }
        return tokens
    }
}
