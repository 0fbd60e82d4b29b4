import Foundation
import Models
import Pipeline
import PromptLanguage
import TensorCore
import TestSupport
import XCTest

/// A1111's prompt language on SDXL's two text encoders, against
/// scripts/reference/fixtures_sdxl_prompts.py (A1111's chunking, emphasis and
/// `EmbeddingsWithFixes` per encoder — CLIP padding with EOS, OpenCLIP with
/// "!" after each chunk's EOS — penultimate states side by side, the pooled
/// projection of the first chunk), with an SDXL textual-inversion file
/// (`clip_l` and `clip_g` vectors): chunk tokens exactly, conditioning within
/// 1e-5, on every backend. The plain case equals diffusers' encode_prompt.
final class SDXLPromptSyntaxReferenceTests: XCTestCase {
    static let embeddings = TextualInversionLibrary(folder: FixturePaths.url("sdxl_prompts/embeddings"))

    static func cases() throws -> [String] {
        let data = try Data(contentsOf: FixturePaths.url("sdxl_prompts/cases.json"))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String])
    }

    func testTheEmbeddingHasOneSetPerEncoder() {
        let embedding = Self.embeddings.embeddings["xlfox"]
        XCTAssertEqual(embedding?.widths, [32, 48])
        XCTAssertEqual(embedding?.vectorCount, 2)
    }

    func testConditioningMatchesA1111() throws {
        for backend in TestBackends.all {
            let model = try ModelBundle.load(.path(FixturePaths.url("sdxl/model")), backend: backend)
            for name in try Self.cases() {
                let fixture = try Fixture("sdxl_prompts/\(name).safetensors")
                let prompt = try XCTUnwrap(fixture.string("prompt"))
                let emphasis = try XCTUnwrap(Emphasis(rawValue: try XCTUnwrap(fixture.string("emphasis"))))
                let encoder = A1111PromptEncoder(encoders: model.textEncoders, emphasis: emphasis, embeddings: Self.embeddings)
                for (index, key) in ["tokens", "tokens_2"].enumerated() {
                    let chunker = PromptChunker(tokenizer: model.textEncoders[index].tokenizer, contextLength: 77,
                                                embeddings: Self.embeddings)
                    let chunks = chunker.chunks(try encoder.runs(of: prompt))
                    // The reference writes 0 in an embedding's slots; the chunker keeps the name's tokens there.
                    var tokens = chunks.flatMap(\.tokens).map(Int64.init)
                    for (chunkIndex, chunk) in chunks.enumerated() {
                        for fix in chunk.fixes {
                            for slot in 0..<fix.embedding.vectorCount { tokens[chunkIndex * 77 + fix.position + slot] = 0 }
                        }
                    }
                    XCTAssertEqual(tokens, try fixture.integers(key), "\(name): \(key)")
                    XCTAssertEqual(chunks.flatMap(\.weights), try fixture.floats("multipliers"), "\(name): weights")
                }
                let conditioning = try encoder.encode([prompt], labels: ["the prompt"], clipSkip: 0)
                assertClose(conditioning.sequence.toArray(), try fixture.floats("cond"), atol: 1e-5, rtol: 1e-5,
                            "SDXL A1111 conditioning \(name), on \(backend.name)")
                assertClose(try XCTUnwrap(conditioning.pooled).toArray(), try fixture.floats("pooled"), atol: 1e-5, rtol: 1e-5,
                            "SDXL A1111 pooled \(name), on \(backend.name)")
            }
        }
    }
}
