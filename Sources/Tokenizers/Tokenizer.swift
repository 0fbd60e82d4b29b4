/// What every tokenizer offers the models: text in, ids and masks out, and
/// back again. CLIP BPE, BERT WordPiece and SentencePiece all conform, so a
/// benchmark can take whichever one the weights folder holds.
public protocol Tokenizer: Sendable {
    /// The id written into padded positions.
    var padID: Int32 { get }

    /// The number of ids the tokenizer can produce.
    var vocabularySize: Int { get }

    /// One text with the model's special tokens around it. With `maxLength`
    /// the result is truncated and padded to exactly that many ids the way
    /// the reference pipeline does it; without, it is neither.
    func encode(_ text: String, maxLength: Int?) throws -> EncodedText

    /// Text from ids; special and padding tokens are left out.
    func decode(_ ids: [Int32]) -> String

    /// The vocabulary entry behind an id, nil for an id outside the vocabulary.
    func token(for id: Int32) -> String?
}

extension Tokenizer {
    /// Several texts as one `[count × length]` block. With `length` nil the
    /// block is as long as the longest text (nothing is truncated).
    public func encode(_ texts: [String], length: Int? = nil) throws -> EncodedBatch {
        var rows = try texts.map { try encode($0, maxLength: length) }
        let width = length ?? rows.map(\.ids.count).max() ?? 0
        if length == nil {
            for i in rows.indices { rows[i].pad(to: width, with: padID) }
        }
        return EncodedBatch(rows: rows, length: width)
    }

    public func tokens(for ids: [Int32]) -> [String] {
        ids.map { token(for: $0) ?? "<\($0)>" }
    }

    /// What to tell the user when truncation dropped part of a text, as the
    /// SD pipeline warns about long prompts: how many tokens were dropped
    /// and what they said. Nil when nothing was dropped.
    public func truncationWarning(for encoded: EncodedText, label: String = "the prompt") -> String? {
        guard encoded.truncatedCount > 0 else { return nil }
        let tokens = encoded.truncatedCount == 1 ? "token" : "tokens"
        return "\(label) is longer than \(encoded.ids.count) tokens; the last \(encoded.truncatedCount) \(tokens) "
            + "were dropped: \"\(decode(encoded.truncatedIDs))\""
    }
}

/// One text's ids, ready for a model.
public struct EncodedText: Sendable, Equatable {
    public var ids: [Int32]
    /// 1 where `ids` holds the text or a special token, 0 on padding.
    public var attentionMask: [Int32]
    /// The segment of every position (all 0 for a single text).
    public var tokenTypeIDs: [Int32]
    /// The ids that truncation dropped, in text order; empty when none were.
    public var truncatedIDs: [Int32]

    public init(ids: [Int32], attentionMask: [Int32], tokenTypeIDs: [Int32], truncatedIDs: [Int32] = []) {
        self.ids = ids
        self.attentionMask = attentionMask
        self.tokenTypeIDs = tokenTypeIDs
        self.truncatedIDs = truncatedIDs
    }

    /// Builds the usual layout: `prefix + content + suffix`, where content is
    /// cut so the whole fits `maxLength` (the suffix, e.g. EOS or [SEP],
    /// always stays last), then padded up to `maxLength`.
    init(prefix: [Int32], content: [Int32], suffix: [Int32], maxLength: Int?, padID: Int32) {
        var content = content
        var dropped: [Int32] = []
        if let maxLength {
            let room = max(0, maxLength - prefix.count - suffix.count)
            if content.count > room {
                dropped = Array(content[room...])
                content.removeSubrange(room...)
            }
        }
        var ids = prefix + content + suffix
        if let maxLength, ids.count > maxLength { ids.removeSubrange(maxLength...) }
        self.init(ids: ids, attentionMask: Array(repeating: 1, count: ids.count),
                  tokenTypeIDs: Array(repeating: 0, count: ids.count), truncatedIDs: dropped)
        if let maxLength { pad(to: maxLength, with: padID) }
    }

    /// How many ids truncation dropped.
    public var truncatedCount: Int { truncatedIDs.count }

    mutating func pad(to length: Int, with padID: Int32) {
        let missing = length - ids.count
        guard missing > 0 else { return }
        ids += repeatElement(padID, count: missing)
        attentionMask += repeatElement(0, count: missing)
        tokenTypeIDs += repeatElement(0, count: missing)
    }
}

/// Several encoded texts of one length, stored row after row as the models
/// read them (`[count × length]`).
public struct EncodedBatch: Sendable, Equatable {
    public let count: Int
    public let length: Int
    public let ids: [Int32]
    public let attentionMask: [Int32]
    public let tokenTypeIDs: [Int32]
    /// Per text, how many ids truncation dropped.
    public let truncatedCounts: [Int]

    public init(rows: [EncodedText], length: Int) {
        count = rows.count
        self.length = length
        ids = rows.flatMap(\.ids)
        attentionMask = rows.flatMap(\.attentionMask)
        tokenTypeIDs = rows.flatMap(\.tokenTypeIDs)
        truncatedCounts = rows.map(\.truncatedCount)
    }

    public func row(_ index: Int) -> ArraySlice<Int32> {
        ids[index * length ..< (index + 1) * length]
    }
}
