import Foundation
import Models
import Pipeline
import TensorCore
import TestSupport
import XCTest

/// A real BERT: sentence-transformers/all-MiniLM-L6-v2 (fetched from PyPI by
/// scripts/fetch_minilm.sh), against transformers' last hidden states and
/// sentence-transformers' embeddings on 26 sentences, padded batches
/// included. Tolerance 1e-4 absolute + 1e-4 relative.
final class MiniLMReferenceTests: XCTestCase {
    static let folder = FixturePaths.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("weights/all-MiniLM-L6-v2")

    func requireWeights() throws {
        guard FileManager.default.fileExists(atPath: Self.folder.appendingPathComponent("model.safetensors").path) else {
            let message = "MiniLM weights missing at \(Self.folder.path): run scripts/fetch_minilm.sh"
            print("WARNING: \(message)")
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail(message) }
            throw XCTSkip(message)
        }
    }

    func testHiddenStatesAndSentenceEmbeddings() throws {
        try requireWeights()
        let io = try Fixture("minilm/reference.safetensors")
        for backend in TestBackends.all {
            let model = try BertModel(folder: Self.folder, backend: backend)
            for prefix in ["", "long_"] {
                let shape = io.shape(prefix + "input_ids")
                func rows(_ name: String) throws -> [[Int32]] {
                    let flat = try io.integers(prefix + name).map { Int32($0) }
                    return (0..<shape[0]).map { Array(flat[$0 * shape[1]..<($0 + 1) * shape[1]]) }
                }
                let mask = try rows("attention_mask")
                let hidden = try model(ids: try rows("input_ids"), attentionMask: mask).lastHiddenState.toArray()
                // Padded positions are not part of any result; compare real tokens only.
                let reference = try io.floats(prefix + "last_hidden_state")
                let width = model.configuration.hiddenSize
                var ours: [Float] = [], theirs: [Float] = []
                for (b, row) in mask.enumerated() {
                    for (t, keep) in row.enumerated() where keep != 0 {
                        let base = (b * shape[1] + t) * width
                        ours += hidden[base..<base + width]
                        theirs += reference[base..<base + width]
                    }
                }
                assertClose(ours, theirs, atol: 1e-4, rtol: 1e-4, "MiniLM \(prefix)hidden states on \(backend.name)")
                let embeddings = SentencePooling.meanNormalized(hidden, mask: mask, width: width)
                assertClose(embeddings.flatMap { $0 }, try io.floats(prefix + "embeddings"), atol: 1e-5, rtol: 1e-4,
                            "MiniLM \(prefix)embeddings on \(backend.name)")
            }
        }
    }

    /// Text in, embedding out: WordPiece, the encoder and pooling together,
    /// against sentence-transformers on the fixture's sentences.
    func testSentenceEmbedderFromText() throws {
        for backend in TestBackends.all {
            try embedFixtureSentences(on: backend) { key, vectors, reference in
                assertClose(vectors.flatMap { $0 }, reference, atol: 1e-5, rtol: 1e-4, "sdgen embed \(key) on \(backend.name)")
            }
        }
    }

    /// Both sentence sets of the fixture through `SentenceEmbedder` on
    /// `backend`: the set's name, sdgen's vectors, sentence-transformers' (flat).
    func embedFixtureSentences(on backend: any Backend, _ body: (String, [[Float]], [Float]) throws -> Void) throws {
        try requireWeights()
        let io = try Fixture("minilm/reference.safetensors")
        let embedder = try SentenceEmbedder(folder: Self.folder, backend: backend)
        for prefix in ["", "long_"] {
            let key = prefix.isEmpty ? "sentences" : "long_sentences"
            let sentences = try JSONDecoder().decode([String].self, from: Data(try XCTUnwrap(io.string(key)).utf8))
            try body(key, try embedder.embed(sentences), try io.floats(prefix + "embeddings"))
        }
    }

    /// `--precision bf16` on real weights: each sentence's embedding against
    /// sentence-transformers' f32 one. Stated as cosine similarity ≥ 0.9999
    /// per sentence (what a search ranking sees); observed worst is printed.
    func testBFloat16ProductsKeepEmbeddings() throws {
        for backend in TestBackends.cpuBFloat16 {
            try embedFixtureSentences(on: backend) { key, vectors, reference in
                let width = reference.count / vectors.count
                var worst: Float = 1
                for (i, vector) in vectors.enumerated() {
                    let theirs = reference[i * width..<(i + 1) * width]
                    let dot = zip(vector, theirs).reduce(0) { $0 + $1.0 * $1.1 }
                    let norms = (vector.reduce(0) { $0 + $1 * $1 } * theirs.reduce(0) { $0 + $1 * $1 }).squareRoot()
                    worst = min(worst, dot / norms)
                }
                print("parity: MiniLM bf16 \(key) on \(backend.name): worst cosine similarity \(worst) (bound 0.9999)")
                XCTAssertGreaterThanOrEqual(worst, 0.9999, "MiniLM bf16 \(key) on \(backend.name)")
            }
        }
    }
}
