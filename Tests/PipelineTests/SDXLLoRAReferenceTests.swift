import Foundation
import Models
import Pipeline
import PromptLanguage
import SafeTensors
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// A kohya SDXL LoRA (LDM-named UNet modules with LoCon convs, `lora_te1_`
/// and `lora_te2_` text-encoder modules) merged at load, against diffusers'
/// own loader on the tiny SDXL (scripts/reference/fixtures_sdxl_lora.py):
/// every merged weight of the three models, and the image, on every backend;
/// the single-file checkpoint takes it too.
final class SDXLLoRAReferenceTests: XCTestCase {
    static let model = FixturePaths.url("sdxl/model")
    static let library = LoRALibrary(folder: FixturePaths.url("sdxl_lora/files"))

    func request(_ fixture: Fixture) throws -> GenerationRequest {
        var request = try GenerationRequest(fixture: fixture)
        request.prompt += " <lora:kohya_xl:0.8>"
        request.width = fixture.int("width")
        request.height = fixture.int("height")
        return request
    }

    /// Every weight diffusers' fused model changed, within 1e-6; no other changes, no module left over.
    func testMergedWeightsMatchDiffusers() throws {
        let fixture = try Fixture("sdxl_lora/kohya_xl.safetensors")
        let unetConfiguration = try UNetConfiguration.load(Self.model.appendingPathComponent("unet/config.json"))
        let selection = try LoRATags.extract("x <lora:kohya_xl:0.8>").loras
        let stack = LoRAStack(try Self.library.resolve(selection).map {
            LoRAStack.Entry(file: $0.file, textEncoderMultiplier: $0.textEncoderWeight, unetMultiplier: $0.unetWeight)
        })
        let components: [(prefix: String, path: String, target: LoRATarget, keyMap: CheckpointKeyMap.Map)] = [
            ("unet.", "unet/diffusion_pytorch_model.safetensors", .unet(of: unetConfiguration), { [.whole($0)] }),
            ("text_encoder.", "text_encoder/model.safetensors", .textEncoder(index: 0, count: 2), CheckpointKeyMap.clipFolder),
            ("text_encoder_2.", "text_encoder_2/model.safetensors", .textEncoder(index: 1, count: 2), CheckpointKeyMap.clipFolder),
        ]
        var merged = 0
        for component in components {
            let file = try SafeTensorsFile(url: Self.model.appendingPathComponent(component.path))
            let source = WeightSource(files: [file], backend: TestBackends.cpu, dtype: .f32, keyMap: component.keyMap)
                .patched(stack.patch(for: component.target))
            for key in file.names where key.hasSuffix(".weight") {
                // The fixture names text_encoder's weights without text_model. and text_encoder_2's with it.
                let modelKey = key.hasPrefix("text_model.") ? String(key.dropFirst("text_model.".count)) : key
                let fixtureKey = component.prefix + (component.prefix == "text_encoder." ? modelKey : key)
                let info = try XCTUnwrap(file.info(key))
                let values = try source.tensor(modelKey, shape: info.shape).toArray()
                let changed = !fixture.shape(fixtureKey).isEmpty
                if changed { merged += 1 }
                assertClose(values, changed ? try fixture.floats(fixtureKey) : try file.floats(key), atol: 1e-6, rtol: 1e-6,
                            "\(fixtureKey)")
            }
        }
        XCTAssertEqual(merged, try XCTUnwrap(fixture.int("unet_changed")) + XCTUnwrap(fixture.int("text_encoder_changed"))
                       + XCTUnwrap(fixture.int("text_encoder_2_changed")), "every changed weight compared")
        XCTAssertTrue(stack.unmatched().isEmpty, "\(stack.unmatched().map(\.modules))")
    }

    func testImageMatchesDiffusers() throws {
        let fixture = try Fixture("sdxl_lora/kohya_xl.safetensors")
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(Self.model), backend: backend, loraLibrary: Self.library)
            let image = try XCTUnwrap(try service.generate(try request(fixture)).first)
            assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "SDXL LoRA image, on \(backend.name)")
            XCTAssertEqual(image.parameters.extras.first { $0.key == "Lora hashes" }?.value, fixture.string("lora_hashes"))
            XCTAssertTrue(image.warnings.isEmpty, "\(image.warnings)")
            // And without it again: the model's own weights.
            var plain = try request(fixture)
            plain.prompt = try XCTUnwrap(fixture.string("prompt"))
            let without = try XCTUnwrap(try service.generate(plain).first)
            assertClose(without.pixels, try fixture.floats("image_without_lora"), atol: 2e-3, rtol: 0,
                        "SDXL without the LoRA again, on \(backend.name)")
        }
    }

    /// The original single file (LDM names everywhere) takes the same LoRA.
    func testSingleFileTakesTheLoRA() throws {
        let fixture = try Fixture("sdxl_lora/kohya_xl.safetensors")
        let service = try GenerationService(loading: .path(FixturePaths.url("sdxl_single_file/tiny_sdxl.safetensors")),
                                            configurationFolder: Self.model, backend: TestBackends.cpu,
                                            loraLibrary: Self.library)
        let image = try XCTUnwrap(try service.generate(try request(fixture)).first)
        assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "SDXL LoRA image from the single file")
        XCTAssertTrue(image.warnings.isEmpty, "\(image.warnings)")
    }
}
