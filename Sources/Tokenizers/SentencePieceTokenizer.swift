import CSentencePiece
import Foundation

/// A SentencePiece model (`spiece.model`, as T5- and ALBERT-style encoders
/// ship) run by libsentencepiece itself, so the ids are the library's.
public final class SentencePieceTokenizer: Tokenizer, @unchecked Sendable {
    // The processor is immutable after loading and its encode/decode are
    // const and thread-safe, hence the unchecked Sendable.
    private let processor: OpaquePointer
    public let path: String
    /// Put the model's BOS / EOS around every encoded text.
    public let addsBOS: Bool
    public let addsEOS: Bool
    public let unknownID: Int32
    public let bosID: Int32?
    public let eosID: Int32?
    /// The model's padding id; models without one pad with EOS, else 0.
    public let padID: Int32
    public let vocabularySize: Int

    public init(contentsOf url: URL, addBOS: Bool = false, addEOS: Bool = false) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw TokenizerError("no such file or folder", url: url)
        }
        var file = url
        if isDirectory.boolValue {
            file = url.appendingPathComponent("spiece.model")
            if !FileManager.default.fileExists(atPath: file.path) {
                let models = (try? FileManager.default.contentsOfDirectory(atPath: url.path))?
                    .filter { $0.hasSuffix(".model") }.sorted() ?? []
                guard let first = models.first else {
                    throw TokenizerError("holds no SentencePiece .model file", url: url)
                }
                file = url.appendingPathComponent(first)
            }
        }
        var message = [CChar](repeating: 0, count: 512)
        guard let processor = spm_load(file.path, &message, message.count) else {
            let reason = String(decoding: message.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw TokenizerError("is not a usable SentencePiece model (\(reason.isEmpty ? "load failed" : reason))", url: file)
        }
        self.processor = processor
        path = file.path
        vocabularySize = Int(spm_vocab_size(processor))
        unknownID = spm_unk_id(processor)
        let bos = spm_bos_id(processor), eos = spm_eos_id(processor), pad = spm_pad_id(processor)
        bosID = bos >= 0 ? bos : nil
        eosID = eos >= 0 ? eos : nil
        padID = pad >= 0 ? pad : (eos >= 0 ? eos : 0)
        addsBOS = addBOS && bos >= 0
        addsEOS = addEOS && eos >= 0
    }

    deinit { spm_free(processor) }

    /// The model's ids for a text, without BOS or EOS.
    public func tokenize(_ text: String) throws -> [Int32] {
        // NUL-terminated so the pointer is never null, even for "".
        let utf8 = text.utf8.map { CChar(bitPattern: $0) } + [0]
        var ids = [Int32](repeating: 0, count: max(16, utf8.count + 2))
        while true {
            let count = spm_encode(processor, utf8, utf8.count - 1, &ids, ids.count)
            guard count >= 0 else { throw TokenizerError("SentencePiece could not encode the text", path: path) }
            if count <= ids.count { return Array(ids.prefix(Int(count))) }
            ids = [Int32](repeating: 0, count: Int(count))
        }
    }

    public func encode(_ text: String, maxLength: Int?) throws -> EncodedText {
        EncodedText(prefix: addsBOS ? [bosID!] : [], content: try tokenize(text),
                    suffix: addsEOS ? [eosID!] : [], maxLength: maxLength, padID: padID)
    }

    public func decode(_ ids: [Int32]) -> String {
        let valid = ids.filter { $0 >= 0 && Int($0) < vocabularySize }
        var buffer = [CChar](repeating: 0, count: max(64, valid.count * 8))
        while true {
            let count = spm_decode(processor, valid, valid.count, &buffer, buffer.count)
            if count < 0 { return "" }
            if count <= buffer.count {
                return String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            buffer = [CChar](repeating: 0, count: Int(count))
        }
    }

    public func token(for id: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        while true {
            let count = spm_id_to_piece(processor, id, &buffer, buffer.count)
            if count < 0 { return nil }
            if count <= buffer.count {
                return String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            buffer = [CChar](repeating: 0, count: Int(count))
        }
    }
}
