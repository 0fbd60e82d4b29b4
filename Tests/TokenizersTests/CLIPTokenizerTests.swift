import Foundation
import Tokenizers
import XCTest

final class CLIPTokenizerTests: XCTestCase {
    func testBundledVocabularyMatchesReference() throws {
        let tokenizer = try CLIPTokenizer.bundled()
        let reference = try TokenizerFixtures.load(TokenizerFixtures.Reference.self, "clip.json")
        XCTAssertEqual(tokenizer.vocabularySize, 49408)
        XCTAssertEqual(tokenizer.vocabularySize, reference.vocab_size)
        XCTAssertEqual(tokenizer.bosID, 49406)
        XCTAssertEqual(tokenizer.eosID, 49407)
        XCTAssertEqual(tokenizer.padID, reference.pad_id)
        XCTAssertEqual(tokenizer.token(for: 320), "a</w>")
        XCTAssertEqual(tokenizer.token(for: 49406), "<|startoftext|>")
        XCTAssertEqual(tokenizer.encode("a photo of a cat", maxLength: nil).ids,
                       [49406, 320, 1125, 539, 320, 2368, 49407])
    }

    /// Words of hundreds to thousands of letters tokenize as transformers'
    /// CLIPTokenizer does (merges in a heap, not rescans: a 40 000-letter
    /// word takes 0.2 s, where 400 000 took 45 s before).
    func testLongWordsParity() throws {
        struct LongWords: Decodable { let texts: [String]; let ids: [[Int32]] }
        let reference = try TokenizerFixtures.load(LongWords.self, "clip_long_words.json")
        let tokenizer = try CLIPTokenizer.bundled()
        XCTAssertEqual(reference.texts.count, 8)
        for (text, ids) in zip(reference.texts, reference.ids) {
            XCTAssertEqual(tokenizer.encode(text, maxLength: nil).ids, ids, "\(text.prefix(20))… (\(text.count) characters)")
        }
    }

    func testCorpusParity() throws {
        let tokenizer = try CLIPTokenizer.bundled()
        let reference = try TokenizerFixtures.load(TokenizerFixtures.Reference.self, "clip.json")
        let corpus = TokenizerFixtures.corpus
        XCTAssertGreaterThanOrEqual(corpus.count, 300)
        XCTAssertEqual(reference.ids.count, corpus.count)
        var ids = MismatchLog(), padded = MismatchLog(), masks = MismatchLog(), truncation = MismatchLog(),
            decoded = MismatchLog()
        var longPrompts = 0
        for (i, text) in corpus.enumerated() {
            let full = tokenizer.encode(text, maxLength: nil)
            ids.check(full.ids, reference.ids[i], "#\(i) \(text.debugDescription.prefix(60))")
            XCTAssertEqual(full.attentionMask, Array(repeating: 1, count: full.ids.count))

            let cut = tokenizer.encode(text, maxLength: reference.max_length)
            padded.check(cut.ids, reference.padded_ids[i], "#\(i) padded")
            let ones = reference.padded_mask_lengths[i]
            masks.check(cut.attentionMask, Array(repeating: 1, count: ones) + Array(repeating: 0, count: reference.max_length - ones),
                        "#\(i) mask")
            XCTAssertEqual(cut.tokenTypeIDs, Array(repeating: 0, count: reference.max_length))
            let dropped = max(0, reference.ids[i].count - reference.max_length)
            if dropped > 0 { longPrompts += 1 }
            truncation.check(cut.truncatedIDs, Array(reference.ids[i].dropLast().suffix(dropped)), "#\(i) truncated ids")

            decoded.check(scalars(tokenizer.decode(full.ids)), scalars(reference.decoded[i]), "#\(i) decode")
        }
        ids.assertNone("CLIP ids")
        padded.assertNone("CLIP padded ids")
        masks.assertNone("CLIP attention masks")
        truncation.assertNone("CLIP truncated ids")
        decoded.assertNone("CLIP decode")
        XCTAssertGreaterThanOrEqual(longPrompts, 10)
        print("CLIP parity: \(corpus.count) strings, \(ids.count + padded.count + masks.count) mismatches (\(reference.reference))")
    }

    struct SlowReference: Decodable {
        let reference: String
        let ids: [[Int32]]
        let differs_from_fast: [Int]
    }

    /// transformers 4's slow Python CLIPTokenizer (without ftfy).
    func testSlowCleanupCorpusParity() throws {
        let tokenizer = try CLIPTokenizer.bundled(cleanup: .slow)
        XCTAssertEqual(tokenizer.cleanup, .slow)
        let reference = try TokenizerFixtures.load(SlowReference.self, "clip_slow.json")
        let corpus = TokenizerFixtures.corpus
        XCTAssertEqual(reference.ids.count, corpus.count)
        var ids = MismatchLog()
        for (i, text) in corpus.enumerated() {
            ids.check(tokenizer.encode(text, maxLength: nil).ids, reference.ids[i], "#\(i) \(text.debugDescription.prefix(60))")
        }
        ids.assertNone("CLIP slow ids")
        print("CLIP slow parity: \(corpus.count) strings, \(ids.count) mismatches (\(reference.reference)); "
              + "the slow and fast references differ on \(reference.differs_from_fast.count)")
    }

    func testBatchPadsToLongest() throws {
        let tokenizer = try CLIPTokenizer.bundled()
        let reference = try TokenizerFixtures.load(TokenizerFixtures.Reference.self, "clip.json")
        let texts = reference.batch.texts.map { TokenizerFixtures.corpus[$0] }
        let batch = try tokenizer.encode(texts)
        XCTAssertEqual(batch.count, texts.count)
        XCTAssertEqual(batch.ids, reference.batch.ids.flatMap { $0 })
        XCTAssertEqual(batch.attentionMask, reference.batch.attention_mask.flatMap { $0 })
        XCTAssertEqual(Array(batch.row(1)), reference.batch.ids[1])

        let fixed = try tokenizer.encode(texts, length: 77)
        XCTAssertEqual(fixed.length, 77)
        XCTAssertEqual(fixed.ids, reference.batch.texts.flatMap { reference.padded_ids[$0] })
    }

    func testTruncationKeepsEOSLast() throws {
        let tokenizer = try CLIPTokenizer.bundled()
        let encoded = tokenizer.encode(String(repeating: "word ", count: 80), maxLength: 77)
        XCTAssertEqual(encoded.ids.count, 77)
        XCTAssertEqual(encoded.ids.first, 49406)
        XCTAssertEqual(encoded.ids.last, 49407)
        XCTAssertEqual(encoded.truncatedCount, 5)
        XCTAssertEqual(tokenizer.decode(encoded.truncatedIDs), "word word word word word")
        XCTAssertEqual(tokenizer.encode("word", maxLength: 77).truncatedCount, 0)
    }

    /// Both layouts of a tokenizer folder: vocab.json + merges.txt (+
    /// special_tokens_map.json) and transformers 5's tokenizer.json.
    func testReadsBothFolderLayouts() throws {
        let reference = try TokenizerFixtures.load(TokenizerFixtures.Small.self, "clip_tiny.json")
        let fromFiles = try CLIPTokenizer(contentsOf: TokenizerFixtures.url("clip_tiny_files"))
        let fromVocabJSON = try CLIPTokenizer(contentsOf: TokenizerFixtures.url("clip_tiny_files/vocab.json"))
        let fromJSON = try CLIPTokenizer(contentsOf: TokenizerFixtures.url("clip_tiny_json"))
        let fromJSONFile = try CLIPTokenizer(contentsOf: TokenizerFixtures.url("clip_tiny_json/tokenizer.json"))
        for (text, expected) in zip(reference.texts, reference.ids) {
            for tokenizer in [fromFiles, fromVocabJSON, fromJSON, fromJSONFile] {
                XCTAssertEqual(tokenizer.encode(text, maxLength: nil).ids, expected, text)
            }
        }
        XCTAssertEqual(fromJSON.padID, fromFiles.padID)
    }

    /// Not an assertion: the speed, for the record.
    func testSpeed() throws {
        let tokenizer = try CLIPTokenizer.bundled()
        let prompt = "masterpiece, best quality, portrait of a young woman, oil painting, by Greg Rutkowski and "
            + "Alphonse Mucha, trending on artstation, highly detailed, sharp focus, 8k, cinematic lighting, "
            + "volumetric fog, golden hour, bokeh, 85mm lens"
        let count = tokenizer.encode(prompt, maxLength: nil).ids.count
        let corpus = TokenizerFixtures.corpus
        let corpusTokens = corpus.reduce(0) { $0 + tokenizer.encode($1, maxLength: nil).ids.count }

        let rounds = 2000
        var start = Date()
        for _ in 0 ..< rounds { _ = tokenizer.encode(prompt, maxLength: 77) }
        let perPrompt = Date().timeIntervalSince(start) / Double(rounds)

        start = Date()
        for _ in 0 ..< 5 { for text in corpus { _ = tokenizer.encode(text, maxLength: nil) } }
        let corpusRate = Double(corpusTokens * 5) / Date().timeIntervalSince(start)

        // Words never seen before, so every one is merged from scratch.
        var generator = SystemRandomNumberGenerator()
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let fresh = (0 ..< 3000).map { _ in
            (0 ..< 12).map { _ in String((0 ..< Int.random(in: 3 ... 10, using: &generator)).map { _ in
                letters.randomElement(using: &generator)! }) }.joined(separator: " ")
        }
        start = Date()
        let freshTokens = fresh.reduce(0) { $0 + tokenizer.encode($1, maxLength: nil).ids.count }
        let freshRate = Double(freshTokens) / Date().timeIntervalSince(start)

        print(String(format: "CLIP speed: %d-token prompt in %.1f µs (%.0f tokens/s); corpus %.0f tokens/s; unseen words %.0f tokens/s",
                     count, perPrompt * 1e6, Double(count) / perPrompt, corpusRate, freshRate))
    }
}
