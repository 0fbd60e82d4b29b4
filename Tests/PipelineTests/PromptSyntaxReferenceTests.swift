import Foundation
import Pipeline
import PromptLanguage
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// A1111's prompt language against a transcription of its algorithms
/// (scripts/reference/fixtures_prompts.py) run with transformers and
/// diffusers on the tiny model: the weighted runs of many strings, the
/// chunks' tokens and weights, the conditioning of prompt and negative
/// prompt (padded to equal length), and the final image.
final class PromptSyntaxReferenceTests: XCTestCase {
    static let model: ModelBundle = try! ModelBundle.load(.path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)

    func testParsedRunsMatchA1111() throws {
        let data = try Data(contentsOf: FixturePaths.url("prompts/parse.json"))
        let cases = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 30)
        for entry in cases {
            let text = try XCTUnwrap(entry["text"] as? String)
            let expected = try XCTUnwrap(entry["runs"] as? [[Any]]).map {
                PromptAttention.Run($0[0] as! String, ($0[1] as! NSNumber).doubleValue)
            }
            let runs = try PromptAttention.parse(text)
            XCTAssertEqual(runs.map(\.text), expected.map(\.text), "runs of \(text.debugDescription)")
            for (run, reference) in zip(runs, expected) {
                XCTAssertEqual(run.weight, reference.weight, accuracy: 1e-12 * abs(reference.weight), text.debugDescription)
            }
        }
    }

    /// Prompt editing and alternation against A1111's own lark grammar.
    func testSchedulesMatchA1111() throws {
        let data = try Data(contentsOf: FixturePaths.url("prompts/schedules.json"))
        let cases = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 90)
        for entry in cases {
            let text = try XCTUnwrap(entry["text"] as? String), steps = try XCTUnwrap(entry["steps"] as? Int)
            let expected = try XCTUnwrap(entry["schedule"] as? [[Any]]).map {
                PromptSchedule.Entry(endStep: ($0[0] as! NSNumber).intValue, text: $0[1] as! String)
            }
            XCTAssertEqual(PromptSchedule.entries(text, steps: steps), expected, "\(text.debugDescription), \(steps) steps")
        }
    }

    func testWeightThatIsNotANumberIsAnError() {
        XCTAssertThrowsError(try PromptAttention.parse("a (fox:1.2.3)")) {
            XCTAssertEqual($0 as? PromptSyntaxError, .badWeight(":1.2.3)"))
        }
    }

    func testPromptOverTheChunkLimitIsRefused() {
        let encoder = A1111PromptEncoder(encoders: Self.model.textEncoders)
        let novel = Array(repeating: "a", count: 75 * A1111PromptEncoder.maximumChunks + 1).joined(separator: " ")
        XCTAssertThrowsError(try encoder.encode(["", novel], labels: ["the negative prompt", "the prompt"], clipSkip: 0)) {
            XCTAssertEqual($0 as? PromptSyntaxError, .tooLong(label: "the prompt", chunks: 33, limit: 32))
        }
    }

    func testEmbeddingLibraryAndItsErrors() throws {
        XCTAssertEqual(Self.embeddings.embeddings.keys.sorted(), ["tinyemb", "tinyneg"])
        XCTAssertEqual(Self.embeddings.embeddings["tinyemb"]?.vectorCount, 3)
        XCTAssertEqual(Self.embeddings.embeddings["tinyneg"]?.vectorCount, 2)
        // An embedding of another width, named in a prompt: one error naming it.
        let wide = TextualInversionLibrary(embeddings: ["widefox": .init(name: "widefox", width: 48,
                                                                         values: [Float](repeating: 0.1, count: 96))])
        let encoder = A1111PromptEncoder(encoders: Self.model.textEncoders, embeddings: wide)
        XCTAssertThrowsError(try encoder.encode(["", "a widefox"], labels: ["n", "p"], clipSkip: 0)) {
            XCTAssertTrue(String(describing: $0).contains("widefox: an embedding 48 wide"), "\($0)")
        }
        XCTAssertNoThrow(try encoder.encode(["", "a fox"], labels: ["n", "p"], clipSkip: 0), "unused, it is no error")
        // A safetensors file that is no embedding.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-emb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: FixturePaths.url("text_encoders/pooled.safetensors"),
                                         to: folder.appendingPathComponent("notanembedding.safetensors"))
        try FileManager.default.copyItem(at: FixturePaths.url("prompts/embeddings/tinyemb.safetensors"),
                                         to: folder.appendingPathComponent("tinyemb.safetensors"))
        // Left out with its reason, as A1111 leaves it out; the folder's embeddings still load.
        let library = TextualInversionLibrary(folder: folder)
        XCTAssertEqual(Array(library.embeddings.keys), ["tinyemb"])
        XCTAssertEqual(library.skipped.count, 1)
        XCTAssertTrue(library.skipped.first?.description.contains("notanembedding.safetensors: not a textual-inversion embedding") == true,
                      "\(library.skipped)")
    }

    static let cases = ["emphasis", "no_norm", "literal", "break", "long_commas", "long_negative", "unbalanced",
                        "embeddings"]
    /// Cases with an image only (their conditioning changes during sampling).
    static let imageCases = cases + ["editing"]
    /// `tinyemb` (A1111's emb_params, 3 vectors) and `tinyneg` (a single tensor, 2 vectors).
    static let embeddings = TextualInversionLibrary(folder: FixturePaths.url("prompts/embeddings"))

    func request(_ fixture: Fixture) throws -> GenerationRequest {
        var request = try GenerationRequest(fixture: fixture)
        request.emphasis = try XCTUnwrap(Emphasis(rawValue: try XCTUnwrap(fixture.string("emphasis"))))
        request.width = fixture.int("width")
        request.height = fixture.int("height")
        return request
    }

    /// Chunk tokens and weights exactly; conditioning within 1e-5 (f32 encoder, weights, mean restore).
    func testChunksAndConditioningMatchA1111() throws {
        for name in Self.cases {
            let fixture = try Fixture("prompts/\(name).safetensors")
            let request = try request(fixture)
            let encoder = A1111PromptEncoder(encoders: Self.model.textEncoders, emphasis: request.emphasis)
            let component = Self.model.textEncoders[0]
            let chunker = PromptChunker(tokenizer: component.tokenizer, contextLength: 77, embeddings: Self.embeddings)
            let chunks = chunker.chunks(try encoder.runs(of: request.prompt))
            XCTAssertEqual(chunks.flatMap(\.tokens).map(Int64.init), try fixture.integers("tokens"), "\(name): tokens")
            XCTAssertEqual(chunks.flatMap(\.weights), try fixture.floats("multipliers"), "\(name): weights")
            let negative = chunker.chunks(try encoder.runs(of: request.negativePrompt))
            XCTAssertEqual(negative.flatMap(\.tokens).map(Int64.init), try fixture.integers("negative_tokens"),
                           "\(name): negative tokens")
        }
        for backend in TestBackends.all {
            let model = try ModelBundle.load(.path(FixturePaths.url("pipeline")), backend: backend)
            // On the GPU: one chunk, several (BREAK, past 75 tokens), and embedding vectors in place of tokens.
            for name in TestBackends.cases(Self.cases, on: backend, gpu: ["emphasis", "long_commas", "embeddings"]) {
                let fixture = try Fixture("prompts/\(name).safetensors")
                let request = try request(fixture)
                let conditioning = try A1111PromptEncoder(encoders: model.textEncoders, emphasis: request.emphasis,
                                                          embeddings: Self.embeddings)
                    .encode([request.negativePrompt, request.prompt], labels: ["n", "p"], clipSkip: 0)
                let values = conditioning.sequence.toArray()
                let half = values.count / 2
                XCTAssertEqual(conditioning.sequence.shape[1], fixture.shape("cond")[1], "\(name): padded length")
                assertClose(Array(values[half...]), try fixture.floats("cond"), atol: 1e-5, rtol: 1e-5,
                            "A1111 conditioning \(name), on \(backend.name)")
                assertClose(Array(values[..<half]), try fixture.floats("uncond"), atol: 1e-5, rtol: 1e-5,
                            "A1111 negative conditioning \(name), on \(backend.name)")
            }
        }
    }

    /// The image diffusers makes from A1111's conditioning: within 2e-3 on [0, 1] pixels, as text-to-image.
    func testImagesMatchDiffusersFromA1111Conditioning() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend,
                                                embeddings: Self.embeddings)
            // On the GPU: one chunk, five (385 tokens), and editing (the conditioning changes
            // during sampling).
            for name in TestBackends.cases(Self.imageCases, on: backend, gpu: ["emphasis", "long_negative", "editing"]) {
                let fixture = try Fixture("prompts/\(name).safetensors")
                let image = try XCTUnwrap(try service.generate(try request(fixture)).first)
                XCTAssertEqual(image.truncatedTokens.prompt, 0, "nothing is cut")
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0,
                            "A1111 prompt image \(name), on \(backend.name)")
            }
        }
    }
}
