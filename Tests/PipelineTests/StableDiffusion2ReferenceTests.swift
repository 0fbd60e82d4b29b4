import Foundation
import ImageIO
import Models
import Pipeline
import PromptLanguage
import SafeTensors
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// SD 2.x-style models against diffusers' StableDiffusionPipeline on a tiny
/// random-weight model with SD 2's options (scripts/reference/fixtures_sd2.py):
/// linear projections in the transformers, per-level head counts, upcast
/// attention, a gelu text encoder whose tokenizer pads with "!", a
/// v-prediction DDIM scheduler config; sampled with DDIM, Euler, DPM++ 2M,
/// trailing spacing, a long prompt, and SD-Turbo's one step without guidance.
/// Images within 2e-3 on [0, 1] pixels before rounding (so within one of 255
/// levels after), on every backend.
final class StableDiffusion2ReferenceTests: XCTestCase {
    static let folder = FixturePaths.url("sd2")

    /// A case as diffusers ran it: its size, spacing and prediction overrides, read literally.
    static func request(_ fixture: Fixture, syntax: PromptSyntax = .diffusers) throws -> GenerationRequest {
        var request = try GenerationRequest(fixture: fixture)
        request.width = try XCTUnwrap(fixture.int("width"))
        request.height = try XCTUnwrap(fixture.int("height"))
        request.timestepSpacing = fixture.string("timestep_spacing").flatMap(SchedulerConfiguration.TimestepSpacing.init)
        request.predictionType = fixture.string("prediction_type").flatMap(SchedulerConfiguration.PredictionType.init)
        request.promptSyntax = syntax
        return request
    }

    static func cases() throws -> [String] {
        let data = try Data(contentsOf: folder.appendingPathComponent("cases.json"))
        let object = try JSONSerialization.jsonObject(with: data)
        return try XCTUnwrap(object as? [String] ?? (object as? [String: [String]])?.values.flatMap { $0 })
    }

    func testModelReadsItsSD2Configuration() throws {
        let service = try GenerationService(loading: .path(Self.folder.appendingPathComponent("model")), backend: TestBackends.cpu)
        XCTAssertEqual(service.model.schedulerConfiguration.predictionType, .vPrediction)
        XCTAssertEqual(service.model.defaultScheduler, .ddim)
        let sampleSize = try XCTUnwrap(service.model.unet.configuration.sampleSize)
        XCTAssertEqual(service.model.defaultImageSize, sampleSize * service.model.vaeScaleFactor)
    }

    /// The same model in Stability's original single-file layout (OpenCLIP
    /// text tower with fused q/k/v and one block more than SD 2 runs;
    /// scripts/reference/fixtures_sd2.py, group sd2_single_file).
    static let singleFile = FixturePaths.url("sd2_single_file/tiny_sd2.safetensors")

    /// Everything the tensors tell is read from them: the family, the text
    /// tower (gelu, its last block dropped, as SD 2 conditions on the
    /// penultimate one), the UNet's linear projections; what they do not
    /// tell follows SD 2.1 (768², v-prediction DDIM, "!" padding).
    func testSingleFileIsDetectedAsSD2() throws {
        let inferred = try SingleFileConfiguration(SafeTensorsFile(url: Self.singleFile))
        let model = Self.folder.appendingPathComponent("model")
        let unet = try UNetConfiguration.load(model.appendingPathComponent("unet/config.json"))
        let clip = try CLIPTextConfiguration.load(model.appendingPathComponent("text_encoder/config.json"))
        XCTAssertEqual(inferred.family, .stableDiffusion2)
        XCTAssertEqual(inferred.clip.numHiddenLayers, clip.numHiddenLayers)
        XCTAssertEqual(inferred.clip.hiddenAct, "gelu")
        XCTAssertEqual(inferred.clip.hiddenSize, clip.hiddenSize)
        XCTAssertEqual(inferred.clip.intermediateSize, clip.intermediateSize)
        XCTAssertEqual(inferred.clip.vocabSize, clip.vocabSize)
        XCTAssertEqual(inferred.clip.maxPositionEmbeddings, clip.maxPositionEmbeddings)
        XCTAssertEqual(inferred.unet.useLinearProjection, true)
        XCTAssertEqual(inferred.unet.crossAttentionDim, unet.crossAttentionDim)
        XCTAssertEqual(inferred.unet.blockOutChannels, unet.blockOutChannels)
        XCTAssertEqual(inferred.unet.downBlockTypes, unet.downBlockTypes)
        XCTAssertEqual(inferred.unet.upBlockTypes, unet.upBlockTypes)

        XCTAssertEqual(inferred.unet.sampleSize, 96, "768² by default")

        // The tiny model's norm groups are not SD 2's, so its configs come
        // along; without a tokenizer or scheduler among them, SD 2.1's apply.
        let configs = FileManager.default.temporaryDirectory.appendingPathComponent("sd2-configs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: configs) }
        for component in ["unet", "vae", "text_encoder"] {
            let target = configs.appendingPathComponent(component)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: model.appendingPathComponent("\(component)/config.json"),
                                             to: target.appendingPathComponent("config.json"))
        }
        let bundle = try ModelBundle.load(.path(Self.singleFile), configurationFolder: configs, backend: TestBackends.cpu)
        XCTAssertEqual(bundle.family, .stableDiffusion2)
        XCTAssertEqual(bundle.defaultScheduler, .ddim)
        XCTAssertEqual(bundle.schedulerConfiguration.predictionType, .vPrediction)
        let tokenizer = bundle.textEncoders[0].tokenizer
        XCTAssertEqual(tokenizer.padID, 0, "CLIP's vocabulary starts with '!'")
        XCTAssertEqual(tokenizer.encode("hello!", maxLength: 8).ids.prefix(3).last, 0, "'!' is a special token, as in the folder's tokenizer")
        XCTAssertEqual(tokenizer.encode("a cat", maxLength: 8).ids.suffix(3), [tokenizer.padID, tokenizer.padID, tokenizer.padID])
    }

    /// Every UNet, VAE and text-encoder tensor the single file gives is the
    /// folder's, bit for bit (q, k and v cut from the fused in_proj rows).
    func testSingleFileLoadsTheFolderWeightsBitForBit() throws {
        let model = Self.folder.appendingPathComponent("model")
        let inferred = try SingleFileConfiguration(SafeTensorsFile(url: Self.singleFile))
        let single = WeightSource(files: [try SafeTensorsFile(url: Self.singleFile)], backend: TestBackends.cpu, dtype: .f32)
        let unetMap = CheckpointKeyMap.unetSingleFile(
            layersPerBlock: inferred.unet.layersPerBlock,
            upBlockHasAttention: inferred.unet.upBlockTypes.map { $0 == "CrossAttnUpBlock2D" })
        let components: [(file: String, map: CheckpointKeyMap.Map, strip: String)] = [
            ("unet/diffusion_pytorch_model.safetensors", unetMap, ""),
            ("vae/diffusion_pytorch_model.safetensors", CheckpointKeyMap.vaeSingleFile(blocks: inferred.vae.blockOutChannels.count), ""),
            ("text_encoder/model.safetensors", inferred.textEncoders[0].keyMap, "text_model."),
        ]
        var compared = 0
        for component in components {
            let file = try SafeTensorsFile(url: model.appendingPathComponent(component.file))
            let folder = WeightSource(files: [file], backend: TestBackends.cpu, dtype: .f32)
            let mapped = single.remapped(component.map)
            for name in file.names where !name.hasSuffix("position_ids") {
                let key = name.hasPrefix(component.strip) ? String(name.dropFirst(component.strip.count)) : name
                let shape = try XCTUnwrap(file.info(name)).shape
                let theirs = try folder.tensor(name, shape: shape).toArray()
                let ours = try mapped.tensor(key, shape: shape, allowReshape: true).toArray()
                XCTAssertEqual(ours.map(\.bitPattern), theirs.map(\.bitPattern), "\(component.file): \(name)")
                compared += 1
            }
        }
        XCTAssertEqual(compared, 494 + 156 + 52)
    }

    /// The single file with the folder's configs (head counts and norm
    /// groups are not in the shapes; diffusers' from_single_file(config:))
    /// makes diffusers' image.
    func testSingleFileMakesTheFolderImage() throws {
        let service = try GenerationService(loading: .path(Self.singleFile),
                                            configurationFolder: Self.folder.appendingPathComponent("model"),
                                            backend: TestBackends.cpu)
        let fixture = try Fixture("sd2/ddim_v.safetensors")
        let request = try Self.request(fixture)
        let image = try XCTUnwrap(try service.generate(request).first)
        assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "sd2 single file ddim_v")
    }

    /// A1111's prompt reading pads each chunk after its EOS with the
    /// tokenizer's padding ("!" here, as A1111's OpenCLIP encoders do): a
    /// plain prompt within one chunk gives diffusers' image.
    func testA1111SyntaxOnAPlainPromptMatchesDiffusers() throws {
        let service = try GenerationService(loading: .path(Self.folder.appendingPathComponent("model")), backend: TestBackends.cpu)
        let fixture = try Fixture("sd2/ddim_v.safetensors")
        let request = try Self.request(fixture, syntax: .a1111)
        let image = try XCTUnwrap(try service.generate(request).first)
        assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "sd2 ddim_v, A1111 syntax")
    }

    func testImagesMatchDiffusers() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(Self.folder.appendingPathComponent("model")), backend: backend)
            let tokenizer = service.model.textEncoders[0].tokenizer
            for name in try Self.cases() {
                let fixture = try Fixture("sd2/\(name).safetensors")
                // diffusers' literal reading (one prompt runs past 77 tokens and is cut there).
                let request = try Self.request(fixture)
                XCTAssertEqual(tokenizer.encode(request.prompt, maxLength: 77).ids.map(Int64.init), try fixture.integers("input_ids"),
                               "\(name): prompt ids ('!' padding)")
                let image = try XCTUnwrap(try service.generate(request).first)
                XCTAssertEqual(image.truncatedTokens.prompt > 0, fixture.string("truncated") == "1", "\(name): truncation")
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "sd2 \(name), on \(backend.name)")
            }
        }
    }
}
