import Foundation
import TestSupport
import XCTest

/// The reference fixtures of scripts/reference/fixtures_tokenizers.py.
enum TokenizerFixtures {
    static func url(_ name: String) -> URL { FixturePaths.url("tokenizers/\(name)") }

    static func load<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: url(name)))
    }

    static let corpus: [String] = (try? load([String].self, "corpus.json")) ?? []

    struct Batch: Decodable {
        let texts: [Int]
        let ids: [[Int32]]
        let attention_mask: [[Int32]]
        let token_type_ids: [[Int32]]?
    }

    /// clip.json and bert.json.
    struct Reference: Decodable {
        let reference: String
        let max_length: Int
        let pad_id: Int32
        let vocab_size: Int
        let ids: [[Int32]]
        let padded_ids: [[Int32]]
        let padded_mask_lengths: [Int]
        let decoded: [String]
        let batch: Batch
    }

    struct SentencePieceReference: Decodable {
        let model: String
        let vocab_size: Int
        let unk_id: Int32
        let bos_id: Int32
        let eos_id: Int32
        let pad_id: Int32
        let ids: [[Int32]]
        let decoded: [String]
        let pieces: [String]
        let max_length: Int
        let padded_ids: [[Int32]]
    }

    struct Small: Decodable {
        let texts: [String]
        let ids: [[Int32]]
    }
}

/// Compares strings scalar by scalar: Swift's `==` treats canonically
/// equivalent strings as equal, and the tests must see NFC vs NFD.
func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

/// Collects mismatches over a corpus, failing once with the first few.
struct MismatchLog {
    private(set) var count = 0
    private var examples: [String] = []

    mutating func check<T: Equatable>(_ actual: T, _ expected: T, _ label: @autoclosure () -> String) {
        guard actual != expected else { return }
        count += 1
        if examples.count < (Int(ProcessInfo.processInfo.environment["MISMATCH_EXAMPLES"] ?? "") ?? 8) { examples.append("\(label()): got \(actual), expected \(expected)") }
    }

    func assertNone(_ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(count, 0, "\(what): \(count) mismatches\n" + examples.joined(separator: "\n"), file: file, line: line)
    }
}
