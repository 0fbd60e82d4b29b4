/// The ranges a model configuration's numbers must lie in: what every real
/// checkpoint satisfies with room to spare, and what keeps a malformed or
/// hostile config.json from dividing by zero, overflowing a size or building
/// a model of absurd depth before a single weight is read.
enum ConfigurationLimits {
    static let channels = 1...(1 << 15)
    static let imageChannels = 1...64
    static let blocks = 1...8
    static let layers = 1...512
    static let vocabulary = 1...(1 << 22)
    static let positions = 1...(1 << 16)

    /// Checks `value` against `range`, naming the config key.
    static func check(_ value: Int, _ range: ClosedRange<Int>, _ key: String,
                      _ fail: (String) -> ModelLoadError) throws {
        guard range.contains(value) else { throw fail("\(key) \(value) is outside \(range.lowerBound)…\(range.upperBound)") }
    }

    /// `width` channels split into `parts` (norm groups, attention heads), named by `what`.
    static func checkDivides(_ width: Int, by parts: Int, _ what: String, _ fail: (String) -> ModelLoadError) throws {
        guard parts >= 1, width % parts == 0 else { throw fail("\(width) channels do not split into \(parts) \(what)") }
    }

    /// What every transformer text encoder (CLIP, BERT) must satisfy, by transformers' key names.
    static func checkTransformer(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layers: Int, positions: Int,
                                 heads: Int, eps: Float, _ fail: (String) -> ModelLoadError) throws {
        try check(vocabSize, vocabulary, "vocab_size", fail)
        try check(hiddenSize, channels, "hidden_size", fail)
        try check(intermediateSize, channels, "intermediate_size", fail)
        try check(layers, self.layers, "num_hidden_layers", fail)
        try check(positions, self.positions, "max_position_embeddings", fail)
        try checkDivides(hiddenSize, by: heads, "attention heads", fail)
        try checkEpsilon(eps, "layer_norm_eps", fail)
    }

    static func checkEpsilon(_ eps: Float, _ key: String, _ fail: (String) -> ModelLoadError) throws {
        guard eps.isFinite, eps >= 0 else { throw fail("\(key) \(eps) is not a small non-negative number") }
    }
}
