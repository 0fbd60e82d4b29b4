import Foundation
import Models
import TensorCore
import Tokenizers

/// Sentence embeddings from a BERT folder by the sentence-transformers
/// convention (all-MiniLM-L6-v2 and the like): WordPiece with [CLS]/[SEP],
/// the encoder, mean pooling over the attention mask, L2 normalisation.
public final class SentenceEmbedder: @unchecked Sendable {
    public let model: BertModel
    public let tokenizer: BertTokenizer
    /// Longest input in tokens, [CLS] and [SEP] included.
    public let maximumLength: Int

    public init(folder: URL, backend: any Backend) throws {
        model = try BertModel(folder: folder, backend: backend)
        tokenizer = try BertTokenizer(contentsOf: folder)
        // sentence-transformers' own limit when the folder names one (256 for MiniLM).
        let configured = (try? Data(contentsOf: folder.appendingPathComponent("sentence_bert_config.json")))
            .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            .flatMap { $0["max_seq_length"] as? Int }
        maximumLength = min(configured ?? Int.max, model.configuration.maxPositionEmbeddings)
    }

    /// One unit vector per text.
    public func embed(_ texts: [String]) throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        let encoded = texts.map { tokenizer.encode($0, maxLength: nil) }
        let length = min(maximumLength, encoded.map(\.ids.count).max() ?? 0)
        // Pad to the longest text (and cut at the limit, keeping [SEP] last), as a padded batch.
        let batch = try tokenizer.encode(texts, length: length)
        let rows = (0..<batch.count).map { Array(batch.row($0)) }
        let mask = (0..<batch.count).map { Array(batch.attentionMask[$0 * length..<($0 + 1) * length]) }
        let hidden = try model(ids: rows, attentionMask: mask).lastHiddenState.toArray()
        return SentencePooling.meanNormalized(hidden, mask: mask, width: model.configuration.hiddenSize)
    }

    /// Cosine similarity of unit vectors.
    public static func similarity(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
    }
}
