import Foundation
import Tokenizers
import XCTest

final class BertTokenizerTests: XCTestCase {
    static let vocabulary = TokenizerFixtures.url("bert-base-uncased-vocab.txt")

    func testCorpusParity() throws {
        let tokenizer = try BertTokenizer(contentsOf: Self.vocabulary)
        let reference = try TokenizerFixtures.load(TokenizerFixtures.Reference.self, "bert.json")
        XCTAssertEqual(tokenizer.vocabularySize, reference.vocab_size)
        XCTAssertEqual(tokenizer.padID, reference.pad_id)
        let corpus = TokenizerFixtures.corpus
        XCTAssertGreaterThanOrEqual(corpus.count, 300)
        var ids = MismatchLog(), padded = MismatchLog(), masks = MismatchLog(), decoded = MismatchLog()
        for (i, text) in corpus.enumerated() {
            let full = tokenizer.encode(text, maxLength: nil)
            ids.check(full.ids, reference.ids[i], "#\(i) \(text.debugDescription.prefix(60))")

            let cut = tokenizer.encode(text, maxLength: reference.max_length)
            padded.check(cut.ids, reference.padded_ids[i], "#\(i) padded")
            let ones = reference.padded_mask_lengths[i]
            masks.check(cut.attentionMask, Array(repeating: 1, count: ones) + Array(repeating: 0, count: reference.max_length - ones),
                        "#\(i) mask")
            XCTAssertEqual(cut.tokenTypeIDs, Array(repeating: 0, count: reference.max_length))
            XCTAssertEqual(cut.truncatedCount, max(0, reference.ids[i].count - reference.max_length))

            decoded.check(scalars(tokenizer.decode(full.ids)), scalars(reference.decoded[i]), "#\(i) decode")
        }
        ids.assertNone("BERT ids")
        padded.assertNone("BERT padded ids")
        masks.assertNone("BERT attention masks")
        decoded.assertNone("BERT decode")
        print("BERT parity: \(corpus.count) strings, \(ids.count + padded.count + masks.count) mismatches (\(reference.reference))")
    }

    func testBatch() throws {
        let tokenizer = try BertTokenizer(contentsOf: Self.vocabulary)
        let reference = try TokenizerFixtures.load(TokenizerFixtures.Reference.self, "bert.json")
        let texts = reference.batch.texts.map { TokenizerFixtures.corpus[$0] }
        let batch = try tokenizer.encode(texts)
        XCTAssertEqual(batch.ids, reference.batch.ids.flatMap { $0 })
        XCTAssertEqual(batch.attentionMask, reference.batch.attention_mask.flatMap { $0 })
        XCTAssertEqual(batch.tokenTypeIDs, reference.batch.token_type_ids?.flatMap { $0 })

        let fixed = try tokenizer.encode(texts, length: reference.max_length)
        XCTAssertEqual(fixed.ids, reference.batch.texts.flatMap { reference.padded_ids[$0] })
        XCTAssertEqual(fixed.truncatedCounts.count, texts.count)
    }

    func testWordPieceDetails() throws {
        let tokenizer = try BertTokenizer(contentsOf: Self.vocabulary)
        // Longer than 100 characters: one [UNK] for the whole word.
        XCTAssertEqual(tokenizer.tokenize(String(repeating: "a", count: 101)), [100])
        XCTAssertEqual(tokenizer.tokens(for: tokenizer.tokenize("unaffable")), ["una", "##ffa", "##ble"])
        XCTAssertEqual(tokenizer.tokens(for: tokenizer.tokenize("Héllo, WORLD!")), ["hello", ",", "world", "!"])
        XCTAssertEqual(tokenizer.encode("[CLS] x [MASK]", maxLength: nil).ids, [101, 101, 1060, 103, 102])
    }

    func testReadsTokenizerJSON() throws {
        let reference = try TokenizerFixtures.load(TokenizerFixtures.Small.self, "bert_tiny.json")
        let folder = try BertTokenizer(contentsOf: TokenizerFixtures.url("bert_tiny_json"))
        let file = try BertTokenizer(contentsOf: TokenizerFixtures.url("bert_tiny_json/tokenizer.json"))
        for (text, expected) in zip(reference.texts, reference.ids) {
            XCTAssertEqual(folder.encode(text, maxLength: nil).ids, expected, text)
            XCTAssertEqual(file.encode(text, maxLength: nil).ids, expected, text)
        }
    }

    func testSpeed() throws {
        let tokenizer = try BertTokenizer(contentsOf: Self.vocabulary)
        let corpus = TokenizerFixtures.corpus
        let tokens = corpus.reduce(0) { $0 + tokenizer.encode($1, maxLength: nil).ids.count }
        let start = Date()
        for _ in 0 ..< 5 { for text in corpus { _ = tokenizer.encode(text, maxLength: nil) } }
        print(String(format: "BERT speed: corpus %.0f tokens/s", Double(tokens * 5) / Date().timeIntervalSince(start)))
    }
}
