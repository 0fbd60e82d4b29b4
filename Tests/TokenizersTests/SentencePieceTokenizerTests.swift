import Foundation
import Tokenizers
import XCTest

final class SentencePieceTokenizerTests: XCTestCase {
    func testCorpusParity() throws {
        let reference = try TokenizerFixtures.load(TokenizerFixtures.SentencePieceReference.self, "sentencepiece.json")
        let tokenizer = try SentencePieceTokenizer(contentsOf: TokenizerFixtures.url(reference.model))
        XCTAssertEqual(tokenizer.vocabularySize, reference.vocab_size)
        XCTAssertEqual(tokenizer.unknownID, reference.unk_id)
        XCTAssertEqual(tokenizer.bosID, reference.bos_id)
        XCTAssertEqual(tokenizer.eosID, reference.eos_id)
        XCTAssertEqual(reference.pad_id, -1)
        XCTAssertEqual(tokenizer.padID, reference.eos_id, "no padding id in the model: pad with EOS")
        let corpus = TokenizerFixtures.corpus
        XCTAssertGreaterThanOrEqual(corpus.count, 300)
        var ids = MismatchLog(), decoded = MismatchLog()
        for (i, text) in corpus.enumerated() {
            let actual = try tokenizer.tokenize(text)
            ids.check(actual, reference.ids[i], "#\(i) \(text.debugDescription.prefix(60))")
            decoded.check(scalars(tokenizer.decode(reference.ids[i])), scalars(reference.decoded[i]), "#\(i) decode")
        }
        ids.assertNone("SentencePiece ids")
        decoded.assertNone("SentencePiece decode")
        XCTAssertEqual((0 ..< Int32(reference.vocab_size)).map { tokenizer.token(for: $0) ?? "?" }, reference.pieces)
        XCTAssertNil(tokenizer.token(for: Int32(reference.vocab_size)))
        print("SentencePiece parity: \(corpus.count) strings, \(ids.count) mismatches")
    }

    func testBOSAndEOSAroundTruncatedText() throws {
        let reference = try TokenizerFixtures.load(TokenizerFixtures.SentencePieceReference.self, "sentencepiece.json")
        let tokenizer = try SentencePieceTokenizer(contentsOf: TokenizerFixtures.url(reference.model), addBOS: true, addEOS: true)
        var padded = MismatchLog()
        for (i, text) in TokenizerFixtures.corpus.enumerated() {
            padded.check(try tokenizer.encode(text, maxLength: reference.max_length).ids, reference.padded_ids[i], "#\(i)")
        }
        padded.assertNone("SentencePiece padded ids")
    }

    func testFolderWithSpieceModel() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("spm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: TokenizerFixtures.url("botchan_en_bpe_1000.model"),
                                         to: folder.appendingPathComponent("spiece.model"))
        XCTAssertEqual(try TokenizerLoader.kind(of: folder), .sentencepiece)
        let tokenizer = try TokenizerLoader.load(from: folder)
        XCTAssertEqual(tokenizer.vocabularySize, 1000)
    }
}
