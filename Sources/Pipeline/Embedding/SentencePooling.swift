/// sentence-transformers' default head: the mean of the token states under
/// the attention mask, scaled to unit length.
public enum SentencePooling {
    /// - Parameters:
    ///   - hidden: last hidden states [batch, length, width], row-major.
    ///   - mask: [batch][length], 1 for real tokens.
    public static func meanNormalized(_ hidden: [Float], mask: [[Int32]], width: Int) -> [[Float]] {
        let length = mask.first?.count ?? 0
        return mask.enumerated().map { b, row in
            var sum = [Float](repeating: 0, count: width)
            var tokens: Float = 0
            for (t, keep) in row.enumerated() where keep != 0 {
                let base = (b * length + t) * width
                for i in 0..<width { sum[i] += hidden[base + i] }
                tokens += 1
            }
            // sentence-transformers clamps the token count at 1e-9.
            let mean = sum.map { $0 / max(tokens, 1e-9) }
            let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
            // torch.nn.functional.normalize's eps is 1e-12.
            return mean.map { $0 / max(norm, 1e-12) }
        }
    }
}
