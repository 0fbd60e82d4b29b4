import Foundation
import Models
import Pipeline
import PromptLanguage
import SafeTensors
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// LoRA and LoCon merged at load against the references of
/// scripts/reference/fixtures_lora.py on the tiny model: diffusers' own
/// loader (kohya and diffusers/PEFT files, one and two at once) and a
/// by-hand merge of A1111's algorithm (LDM-named kohya file with a CP/Tucker
/// conv, separate text-encoder and UNet multipliers) — every merged weight,
/// and the image, through both syntaxes (`--lora` and `<lora:…>` tags).
final class LoRAReferenceTests: XCTestCase {
    static let files = FixturePaths.url("lora/files")
    static let library = LoRALibrary(folder: files)

    /// Each case: the request's `loras` (as `--lora` passes them) and the prompt's tags.
    static let cases: [(name: String, loras: [LoRASelection], tags: String)] = [
        ("kohya", [LoRASelection(files.appendingPathComponent("kohya.safetensors").path, textEncoderWeight: 0.8)], ""),
        ("two", [LoRASelection(files.appendingPathComponent("kohya.safetensors").path, textEncoderWeight: 0.8)],
         " <lora:peft:0.5>"),
        ("ldm", [], " <lora:ldm:0.7:0.9>"),
    ]

    func request(_ fixture: Fixture, loras: [LoRASelection], tags: String) throws -> GenerationRequest {
        var request = try GenerationRequest(fixture: fixture)
        request.prompt += tags
        request.loras = loras
        request.width = fixture.int("width")
        request.height = fixture.int("height")
        return request
    }

    /// Every weight the reference changed, merged here within 1e-6 (f32 base,
    /// f16/bf16/f32 LoRA factors, products in f32); no other weight changes,
    /// no module is left over.
    func testMergedWeightsMatchReference() throws {
        let unetFile = try SafeTensorsFile(url: FixturePaths.url("pipeline/unet/diffusion_pytorch_model.safetensors"))
        let textFile = try SafeTensorsFile(url: FixturePaths.url("pipeline/text_encoder/model.safetensors"))
        let unetConfiguration = try UNetConfiguration.load(FixturePaths.url("pipeline/unet/config.json"))
        for (name, loras, tags) in Self.cases {
            let fixture = try Fixture("lora/\(name).safetensors")
            let selections = loras + (try LoRATags.extract(tags)).loras
            let stack = LoRAStack(try Self.library.resolve(selections).map {
                LoRAStack.Entry(file: $0.file, textEncoderMultiplier: $0.textEncoderWeight, unetMultiplier: $0.unetWeight)
            })
            let components: [(prefix: String, file: SafeTensorsFile, target: LoRATarget, keyMap: CheckpointKeyMap.Map)] = [
                ("unet.", unetFile, .unet(of: unetConfiguration), { [.whole($0)] }),
                ("text_encoder.", textFile, .textEncoder(index: 0, count: 1), CheckpointKeyMap.clipFolder),
            ]
            var merged = 0
            for component in components {
                let source = WeightSource(files: [component.file], backend: TestBackends.cpu, dtype: .f32,
                                          keyMap: component.keyMap).patched(stack.patch(for: component.target))
                for key in component.file.names where key.hasSuffix(".weight") {
                    let modelKey = component.prefix == "text_encoder." && key.hasPrefix("text_model.")
                        ? String(key.dropFirst("text_model.".count)) : key
                    let info = try XCTUnwrap(component.file.info(key))
                    let values = try source.tensor(modelKey, shape: info.shape).toArray()
                    let expected = fixture.shape(component.prefix + modelKey).isEmpty
                        ? try component.file.floats(key) : try fixture.floats(component.prefix + modelKey)
                    if !fixture.shape(component.prefix + modelKey).isEmpty { merged += 1 }
                    assertClose(values, expected, atol: 1e-6, rtol: 1e-6, "\(name): \(component.prefix)\(modelKey)")
                }
            }
            XCTAssertEqual(merged, try XCTUnwrap(fixture.int("unet_changed")) + XCTUnwrap(fixture.int("text_encoder_changed")),
                           "\(name): every changed weight compared")
            XCTAssertTrue(stack.unmatched().isEmpty, "\(name): \(stack.unmatched().map(\.modules))")
        }
    }

    /// The image of the merged model, within 2e-3 on [0, 1] pixels (as text-to-image), on every backend;
    /// the PNG parameters keep the tags and record A1111's `Lora hashes`.
    func testImagesMatchReference() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: backend,
                                                loraLibrary: Self.library)
            for (name, loras, tags) in Self.cases {
                let fixture = try Fixture("lora/\(name).safetensors")
                let request = try request(fixture, loras: loras, tags: tags)
                let image = try XCTUnwrap(try service.generate(request).first)
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0,
                            "LoRA image \(name), on \(backend.name)")
                XCTAssertEqual(image.parameters.prompt, request.prompt, "the tags stay in the stored prompt")
                let hashes = image.parameters.extras.first { $0.key == "Lora hashes" }?.value
                XCTAssertEqual(hashes, fixture.string("lora_hashes"), name)
                XCTAssertTrue(image.warnings.isEmpty, "\(name): \(image.warnings)")
            }
            // Back to no LoRA: the model's own weights again.
            let plain = try Fixture("pipeline/expected/euler.safetensors")
            XCTAssertFalse(service.model.loras.isEmpty, "the last case left its LoRA loaded")
            var request = try GenerationRequest(fixture: plain)
            request.width = plain.int("width")
            request.height = plain.int("height")
            request.promptSyntax = .diffusers  // as diffusers made it (its plain prompt reads the same either way)
            let image = try XCTUnwrap(try service.generate(request).first)
            XCTAssertTrue(service.model.loras.isEmpty)
            assertClose(image.pixels, try plain.floats("image"), atol: 2e-3, rtol: 0, "without LoRA again, on \(backend.name)")
        }
    }

    /// A single-file (LDM) checkpoint takes the same LoRAs: every module
    /// matches, and the image is the reference's.
    func testSingleFileCheckpointTakesLoRAs() throws {
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline_single_file/tiny_sd.safetensors")),
                                            configurationFolder: FixturePaths.url("pipeline"),
                                            backend: TestBackends.cpu, loraLibrary: Self.library)
        for (name, loras, tags) in Self.cases {
            let fixture = try Fixture("lora/\(name).safetensors")
            let image = try XCTUnwrap(try service.generate(try request(fixture, loras: loras, tags: tags)).first)
            XCTAssertTrue(image.warnings.isEmpty, "\(name): \(image.warnings)")
            assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "LoRA image \(name), single file")
        }
    }
}
