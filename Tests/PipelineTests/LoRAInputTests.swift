import Foundation
import Models
import Pipeline
import PromptLanguage
import SafeTensors
import TensorCore
import TestSupport
import XCTest

/// LoRA tags, `--lora` arguments and every kind of bad LoRA input: one
/// clear error naming the file or tag (or a warning for modules that match
/// nothing), never a trap.
final class LoRAInputTests: XCTestCase {
    static let pipeline = FixturePaths.url("pipeline")
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-lora-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A LoRA file of `entries` (name → shape), values 0.01, under the test folder.
    @discardableResult
    func write(_ name: String, _ entries: [(String, [Int])]) throws -> URL {
        let url = folder.appendingPathComponent(name + ".safetensors")
        try SafeTensorsWriter.write(entries.map { key, shape in
            .init(name: key, shape: shape, floats: [Float](repeating: 0.01, count: shape.reduce(1, *)))
        }, to: url)
        return url
    }

    func load(_ selections: [LoRASelection], strict: Bool = false) throws -> ModelBundle {
        let library = LoRALibrary(folder: folder)
        return try ModelBundle.load(.path(Self.pipeline), backend: TestBackends.cpu,
                                    loras: try library.resolve(selections), strictLoRA: strict)
    }

    func assertError(_ expression: @autoclosure () throws -> Any, contains text: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) {
            XCTAssertTrue(String(describing: $0).contains(text), "\(String(describing: $0)) lacks \(text)",
                          file: file, line: line)
        }
    }

    func testTagsAreExtractedAsA1111ReadsThem() throws {
        let parsed = try LoRATags.extract("a <lora:fox:0.5> cat, <lora:b> <lyco:c:0.3:0.7> <lora:d:unet=0.2:te=0.4> <hypernet:h:1> end")
        XCTAssertEqual(parsed.text, "a  cat,     end")
        XCTAssertEqual(parsed.loras, [LoRASelection("fox", textEncoderWeight: 0.5), LoRASelection("b"),
                                      LoRASelection("c", textEncoderWeight: 0.3, unetWeight: 0.7),
                                      LoRASelection("d", textEncoderWeight: 0.4, unetWeight: 0.2)])
        XCTAssertEqual(parsed.ignored, ["<hypernet:h:1>"])
        // Not tags: a lone '<', '<word' without ':', a '<:…>'.
        XCTAssertEqual(try LoRATags.extract("a < b <c> <:d> 1<2").text, "a < b <c> <:d> 1<2")
        XCTAssertEqual(try LoRATags.extract("<lora:x:1>").text, "")
    }

    func testBadTagsAreOneLine() {
        XCTAssertThrowsError(try LoRATags.extract("a <lora:fox:0.5 cat")) {
            XCTAssertEqual($0 as? LoRATagError, .unclosed("<lora:fox:0.5 cat"))
        }
        XCTAssertThrowsError(try LoRATags.extract("a <lora:fox:strong>")) {
            XCTAssertEqual($0 as? LoRATagError, .badWeight("<lora:fox:strong>", "strong"))
        }
        XCTAssertThrowsError(try LoRATags.extract("<lora::1>")) { XCTAssertEqual($0 as? LoRATagError, .noName("<lora::1>")) }
        XCTAssertThrowsError(try LoRATags.extract("a <lora:> b")) { XCTAssertEqual($0 as? LoRATagError, .noName("<lora:>")) }
        // Through the service: a request error naming the prompt, before any work.
        var request = GenerationRequest(prompt: "a <lora:fox:1", seed: 1)
        XCTAssertThrowsError(try ResolvedGeneration.loras(of: request)) {
            XCTAssertEqual(String(describing: $0), "prompt: '<lora:fox:1' has no closing '>'")
        }
        // diffusers' syntax reads the text literally.
        request.promptSyntax = .diffusers
        XCTAssertEqual(try ResolvedGeneration.loras(of: request).encoderPrompt, "a <lora:fox:1")
    }

    func testLoRAArgument() {
        XCTAssertEqual(LoRASelection(argument: "style.safetensors"), LoRASelection("style.safetensors"))
        XCTAssertEqual(LoRASelection(argument: "style:0.6"), LoRASelection("style", textEncoderWeight: 0.6))
        XCTAssertEqual(LoRASelection(argument: "/a:b/style.safetensors:-1"),
                       LoRASelection("/a:b/style.safetensors", textEncoderWeight: -1))
        XCTAssertEqual(LoRASelection(argument: "c:/x.safetensors"), LoRASelection("c:/x.safetensors"))
        XCTAssertNil(LoRASelection(argument: ""))
        XCTAssertNil(LoRASelection(argument: ":0.5"))
        XCTAssertNil(LoRASelection(argument: "x:nan"))
    }

    func testFilesThatAreNoUsableLoRA() throws {
        // Missing.
        assertError(try self.load([LoRASelection("nothere")]), contains: "no LoRA 'nothere'")
        // Not safetensors, truncated, a lying header.
        try Data("not a safetensors file at all".utf8).write(to: folder.appendingPathComponent("text.safetensors"))
        assertError(try self.load([LoRASelection("text")]), contains: "text.safetensors")
        let good = try write("good", [("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", [4, 16]),
                                      ("lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight", [16, 4])])
        let bytes = try Data(contentsOf: good)
        try bytes.prefix(bytes.count - 10).write(to: folder.appendingPathComponent("cut.safetensors"))
        assertError(try self.load([LoRASelection("cut")]), contains: "cut.safetensors")
        // Not a LoRA (an embedding).
        try write("embedding", [("emb_params", [2, 32])])
        assertError(try self.load([LoRASelection("embedding")]), contains: "not a LoRA")
        // Half a module; ranks that differ; a LoHa.
        try write("half", [("lora_unet_x.lora_down.weight", [4, 16])])
        assertError(try self.load([LoRASelection("half")]), contains: "has no up")
        try write("ranks", [("lora_unet_x.lora_down.weight", [4, 16]), ("lora_unet_x.lora_up.weight", [16, 3])])
        assertError(try self.load([LoRASelection("ranks")]), contains: "the ranks differ")
        try write("loha", [("lora_unet_x.hada_w1_a", [16, 4]), ("lora_unet_x.hada_w1_b", [4, 16])])
        assertError(try self.load([LoRASelection("loha")]), contains: "LoHa")
        // A module that does not fit its weight.
        try write("wide", [("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight", [4, 48]),
                           ("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight", [16, 4])])
        assertError(try self.load([LoRASelection("wide")]),
                    contains: "changes a [16, 48] weight but the model's 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight' is [16, 32]")
        // SDXL's two text encoders on an SD 1.x model.
        try write("xl", [("lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", [4, 32]),
                         ("lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", [37, 4])])
        assertError(try self.load([LoRASelection("xl")]), contains: "a LoRA for SDXL cannot be applied to this SD 1.x model")
    }

    func testModulesThatMatchNothingWarnOrFail() throws {
        try write("stray", [("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", [4, 16]),
                            ("lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight", [16, 4]),
                            ("lora_unet_no_such_block.lora_down.weight", [4, 16]),
                            ("lora_unet_no_such_block.lora_up.weight", [16, 4])])
        let model = try load([LoRASelection("stray")])
        XCTAssertEqual(model.warnings.count, 1)
        XCTAssertTrue(model.warnings[0].contains("LoRA stray: 1 of its modules match nothing"), model.warnings[0])
        XCTAssertTrue(model.warnings[0].contains("lora_unet_no_such_block"), model.warnings[0])
        assertError(try self.load([LoRASelection("stray")], strict: true), contains: "match nothing in the model: lora_unet_no_such_block")
    }

    /// A request naming a bad LoRA fails at admission, before any image is made.
    func testServiceRefusesBadLoRAsBeforeWork() throws {
        let service = try GenerationService(loading: .path(Self.pipeline), backend: TestBackends.cpu,
                                            loraLibrary: LoRALibrary(folder: folder))
        var request = GenerationRequest(prompt: "a fox <lora:missing:0.5>", seed: 1)
        request.steps = 2
        request.width = 32
        request.height = 32
        assertError(try service.admit(request), contains: "no LoRA 'missing'")
        request.prompt = "a fox"
        request.loras = [LoRASelection(folder.appendingPathComponent("gone.safetensors").path)]
        assertError(try service.admit(request), contains: "no LoRA")
        XCTAssertTrue(service.model.loras.isEmpty)
    }
}
