import Foundation
import Tokenizers
import XCTest

/// Broken vocabulary, merges and model files: each must be a thrown
/// TokenizerError whose one-line description names the file and the problem.
final class MalformedFileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    @discardableResult
    func write(_ name: String, _ contents: String) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
        return url
    }

    /// Runs `body`, expecting a TokenizerError naming `file` and saying `problem`.
    func expectError(_ file: String, _ problem: String, line: UInt = #line, _ body: () throws -> Any) {
        do {
            _ = try body()
            XCTFail("no error; expected '\(problem)'", line: line)
        } catch let error as TokenizerError {
            let text = error.description
            XCTAssertFalse(text.contains("\n"), "not one line: \(text)", line: line)
            XCTAssertTrue(text.contains(file), "'\(text)' does not name \(file)", line: line)
            XCTAssertTrue(text.contains(problem), "'\(text)' does not say '\(problem)'", line: line)
        } catch {
            XCTFail("not a TokenizerError: \(error)", line: line)
        }
    }

    let goodVocab = #"{"a": 0, "b": 1, "a</w>": 2, "b</w>": 3, "ab</w>": 4, "<|startoftext|>": 5, "<|endoftext|>": 6}"#

    func testCLIPFiles() throws {
        try write("clip/vocab.json", "{not json")
        try write("clip/merges.txt", "#version: 0.2\na b</w>\n")
        expectError("vocab.json", "not valid JSON") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("clip")) }

        try write("clip/vocab.json", #"["a", "b"]"#)
        expectError("vocab.json", "not a JSON object") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("clip")) }

        try write("clip/vocab.json", #"{"a": "zero"}"#)
        expectError("vocab.json", "is not a non-negative integer") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("clip")) }

        try write("clip/vocab.json", goodVocab)
        try write("clip/merges.txt", "#version: 0.2\na b</w>\nonly-one-token\n")
        expectError("merges.txt", "line 3 is not two tokens") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("clip")) }

        try write("clip/merges.txt", "#version: 0.2\na zz\n")
        expectError("merges.txt", "'zz' is not in the vocabulary") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("clip")) }

        try write("clip/merges.txt", "#version: 0.2\nb a</w>\n")
        expectError("merges.txt", "its result 'ba</w>' is not in the vocabulary") {
            try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("clip"))
        }

        try write("clip/merges.txt", "#version: 0.2\n")
        expectError("merges.txt", "holds no merges") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("clip")) }

        try write("clip/merges.txt", "a b</w>\n")
        try write("clip/vocab.json", #"{"a": 0, "b": 1, "ab</w>": 2, "b</w>": 3}"#)
        expectError("merges.txt", "'<|endoftext|>' is not in the vocabulary") {
            try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("clip"))
        }

        try FileManager.default.removeItem(at: folder.appendingPathComponent("clip/merges.txt"))
        try write("clip/vocab.json", goodVocab)
        expectError("clip", "merges.txt is missing") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("clip")) }

        try write("empty/readme.txt", "")
        expectError("empty", "has neither vocab.json + merges.txt nor tokenizer.json") {
            try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("empty"))
        }
        expectError("nowhere", "no such file or folder") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("nowhere")) }
    }

    func testCLIPWorksWithGoodSmallFiles() throws {
        try write("clip/vocab.json", goodVocab)
        try write("clip/merges.txt", "#version: 0.2\na b</w>\n")
        let tokenizer = try CLIPTokenizer(contentsOf: folder.appendingPathComponent("clip"))
        XCTAssertEqual(tokenizer.encode("ab", maxLength: nil).ids, [5, 4, 6])
        XCTAssertEqual(tokenizer.encode("ab\r\n", maxLength: 5).ids, [5, 4, 6, 6, 6])
    }

    func testTokenizerJSON() throws {
        try write("tj/tokenizer.json", #"{"model": {"type": "WordPiece", "vocab": {}}}"#)
        expectError("tokenizer.json", "holds a WordPiece model, not BPE") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("tj")) }

        try write("tj/tokenizer.json", #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}}"#)
        expectError("tokenizer.json", "model.merges[0] is not a pair") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("tj")) }

        try write("tj/tokenizer.json", #"{"version": "1.0"}"#)
        expectError("tokenizer.json", "has no \"model\" object") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("tj")) }
        expectError("tokenizer.json", "has no \"model\" object") { try TokenizerLoader.kind(of: self.folder.appendingPathComponent("tj")) }

        try write("tj/tokenizer.json", #"{"model": {"type": "BPE", "merges": []}}"#)
        expectError("tokenizer.json", "model.vocab is missing") { try CLIPTokenizer(contentsOf: self.folder.appendingPathComponent("tj")) }
    }

    func testBertFiles() throws {
        let empty = try write("vocab.txt", "\n\n")
        expectError("vocab.txt", "holds no tokens") { try BertTokenizer(contentsOf: empty) }

        let noUnknown = try write("vocab.txt", "[PAD]\n[CLS]\n[SEP]\nhello\n")
        expectError("vocab.txt", "the unknown token '[UNK]' is not in the vocabulary") { try BertTokenizer(contentsOf: noUnknown) }

        let binary = folder.appendingPathComponent("binary.txt")
        try Data([0xFF, 0xFE, 0x00, 0xC3]).write(to: binary)
        expectError("binary.txt", "is not UTF-8 text") { try BertTokenizer(contentsOf: binary) }

        let good = try write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##s\r\n")
        let tokenizer = try BertTokenizer(contentsOf: good)
        XCTAssertEqual(tokenizer.encode("Hellos hi", maxLength: 6).ids, [2, 4, 5, 1, 3, 0])
    }

    func testSentencePieceModels() throws {
        let garbage = folder.appendingPathComponent("garbage.model")
        try Data((0 ..< 4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }).write(to: garbage)
        expectError("garbage.model", "is not a usable SentencePiece model") { try SentencePieceTokenizer(contentsOf: garbage) }

        let empty = try write("empty.model", "")
        expectError("empty.model", "is not a usable SentencePiece model") { try SentencePieceTokenizer(contentsOf: empty) }

        let truncated = folder.appendingPathComponent("truncated.model")
        try Data(contentsOf: TokenizerFixtures.url("botchan_en_bpe_1000.model")).prefix(1000).write(to: truncated)
        expectError("truncated.model", "is not a usable SentencePiece model") { try SentencePieceTokenizer(contentsOf: truncated) }

        expectError("missing.model", "no such file") { try SentencePieceTokenizer(contentsOf: self.folder.appendingPathComponent("missing.model")) }
    }

    func testLoaderKinds() throws {
        XCTAssertEqual(try TokenizerLoader.kind(of: TokenizerFixtures.url("bert-base-uncased-vocab.txt")), .bert)
        XCTAssertEqual(try TokenizerLoader.kind(of: TokenizerFixtures.url("botchan_en_bpe_1000.model")), .sentencepiece)
        XCTAssertEqual(try TokenizerLoader.kind(of: TokenizerFixtures.url("clip_tiny_files")), .clip)
        XCTAssertEqual(try TokenizerLoader.kind(of: TokenizerFixtures.url("clip_tiny_json")), .clip)
        XCTAssertEqual(try TokenizerLoader.kind(of: TokenizerFixtures.url("bert_tiny_json")), .bert)
        XCTAssertTrue(try TokenizerLoader.load(from: nil) is CLIPTokenizer)
        expectError("vocab.txt", "needs a vocab.txt") { try TokenizerLoader.load(.bert, from: nil) }
        try write("nothing/x.bin", "")
        expectError("nothing", "holds no tokenizer") { try TokenizerLoader.kind(of: self.folder.appendingPathComponent("nothing")) }

        // A diffusers model folder: the tokenizer sits in tokenizer/.
        let model = folder.appendingPathComponent("sd15")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TokenizerFixtures.url("clip_tiny_files"), to: model.appendingPathComponent("tokenizer"))
        XCTAssertEqual(try TokenizerLoader.kind(of: model), .clip)
        XCTAssertTrue(try TokenizerLoader.load(from: model) is CLIPTokenizer)
    }
}
