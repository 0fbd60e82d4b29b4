import Foundation
import ImageIO
import Models
import Pipeline
import SafeTensors
import Schedulers
import TensorCore
import TestSupport
import XCTest

/// SDXL against diffusers' StableDiffusionXLPipeline on a tiny random-weight
/// model with SDXL's structure (scripts/reference/fixtures_sdxl.py): two text
/// encoders of different widths (quick_gelu CLIP, gelu OpenCLIP-style with a
/// projection) conditioning on their penultimate layers, the pooled projected
/// vector and six size numbers added to the timestep embedding, no attention
/// in the first level, transformer depth 2 and 3 below, the SDXL VAE scale and
/// `force_zeros_for_empty_prompt`. Images within 2e-3 on [0, 1] pixels (one of
/// 255 levels), on every backend; the original single-file layout loads the
/// same tensors bit for bit.
final class StableDiffusionXLReferenceTests: XCTestCase {
    static let folder = FixturePaths.url("sdxl")
    static let model = folder.appendingPathComponent("model")
    static let singleFile = FixturePaths.url("sdxl_single_file/tiny_sdxl.safetensors")

    /// Model outputs on f32 backends: 1e-4 absolute + 1e-4 relative.
    func tolerance(on backend: any Backend) -> (atol: Float, rtol: Float) { (1e-4, 1e-4) }

    static func cases() throws -> [String] {
        let data = try Data(contentsOf: folder.appendingPathComponent("cases.json"))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String])
    }

    /// "H,W" as diffusers' size tuples are written.
    static func size(_ text: String?) throws -> PixelSize {
        let parts = try XCTUnwrap(text).split(separator: ",").compactMap { Int($0) }
        XCTAssertEqual(parts.count, 2)
        return PixelSize(width: parts[1], height: parts[0])
    }

    static func rows(_ fixture: Fixture, _ name: String) throws -> [[Int32]] {
        let ids = try fixture.integers(name).map { Int32($0) }
        let shape = fixture.shape(name)
        return (0..<shape[0]).map { Array(ids[$0 * shape[1]..<($0 + 1) * shape[1]]) }
    }

    func testFolderReadsAsSDXL() throws {
        let bundle = try ModelBundle.load(.path(Self.model), backend: TestBackends.cpu)
        XCTAssertEqual(bundle.family, .stableDiffusionXL)
        XCTAssertEqual(bundle.textEncoders.count, 2)
        XCTAssertEqual(bundle.textEncoders.map(\.hiddenState), [.penultimate, .penultimate])
        XCTAssertEqual(bundle.textEncoders.map(\.yieldsPooled), [false, true])
        XCTAssertEqual(bundle.textEncoders.map { $0.tokenizer.padID }, [1263, 0], "EOS, then '!'")
        XCTAssertTrue(bundle.checkpoint.forcesZerosForEmptyPrompt)
        XCTAssertEqual(bundle.defaultScheduler, .euler)
        XCTAssertEqual(bundle.vaeConfiguration.scalingFactor, 0.13025)
        XCTAssertEqual(bundle.defaultImageSize, try XCTUnwrap(bundle.unet.configuration.sampleSize) * bundle.vaeScaleFactor)
        XCTAssertEqual(bundle.defaultGuidance, 5, "StableDiffusionXLPipeline's guidance_scale")
        // diffusers' SDXL pipelines upcast a VAE whose config says force_upcast (or does not say):
        // its decode and encode take full-precision products; SD 1.x's pipeline never does.
        XCTAssertEqual(bundle.vaeConfiguration.forceUpcast, true)
        XCTAssertTrue(bundle.vaeNeedsFullPrecision)
        let sd15 = try ModelBundle.load(.path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        XCTAssertEqual(sd15.vaeConfiguration.forceUpcast, true)
        XCTAssertFalse(sd15.vaeNeedsFullPrecision)
        for (json, expected, upcast) in [("{\"force_upcast\": false}", false as Bool?, false), ("{}", nil, true)] {
            let vae = try JSONDecoder().decode(VAEConfiguration.self, from: Data(json.utf8))
            XCTAssertEqual(vae.forceUpcast, expected, json)
            XCTAssertEqual(vae.runsInFullPrecision(in: .stableDiffusionXL), upcast, "\(json): the fp16-fix VAE stays on f16")
            XCTAssertFalse(vae.runsInFullPrecision(in: .stableDiffusion1), json)
        }
        XCTAssertTrue(BenchmarkModel.sdxl.vaeNeedsFullPrecision, "bench decodes as a generation does")
        XCTAssertFalse(BenchmarkModel.sd15.vaeNeedsFullPrecision)
    }

    /// Each encoder's penultimate layer without the final norm, the last hidden
    /// states, and the second's projected pooled vector (`text_embeds`).
    func testTextEncodersMatchTransformers() throws {
        let fixture = try Fixture("sdxl/text_encoders.safetensors")
        for backend in TestBackends.all {
            let bundle = try ModelBundle.load(.path(Self.model), backend: backend)
            let (atol, rtol) = tolerance(on: backend)
            for (index, prefix) in ["text_encoder", "text_encoder_2"].enumerated() {
                let encoder = bundle.textEncoders[index].model
                let ids = try Self.rows(fixture, index == 0 ? "input_ids" : "input_ids_2")
                let penultimate = try encoder.encode(ids, skip: 1, pooled: index == 1, normalizesSkipped: false)
                assertClose(penultimate.hiddenStates.toArray(), try fixture.floats("\(prefix)_penultimate"), atol: atol, rtol: rtol,
                            "\(prefix) hidden_states[-2], on \(backend.name)")
                let last = try encoder(ids)
                assertClose(last.toArray(), try fixture.floats("\(prefix)_last_hidden_state"), atol: atol, rtol: rtol,
                            "\(prefix) last_hidden_state, on \(backend.name)")
                if index == 1 {
                    assertClose(try XCTUnwrap(penultimate.pooled).toArray(), try fixture.floats("text_encoder_2_text_embeds"),
                                atol: atol, rtol: rtol, "text_encoder_2 text_embeds, on \(backend.name)")
                }
            }
        }
    }

    /// One UNet evaluation with the added conditioning (two rows with different size numbers).
    func testUNetWithAddedConditioning() throws {
        let fixture = try Fixture("sdxl/unet.safetensors")
        for backend in TestBackends.all {
            let bundle = try ModelBundle.load(.path(Self.model), backend: backend)
            let sample = backend.upload(try fixture.floats("sample"), shape: fixture.shape("sample")).permuted([0, 2, 3, 1])
            let context = backend.upload(try fixture.floats("encoder_hidden_states"), shape: fixture.shape("encoder_hidden_states"))
            let pooled = backend.upload(try fixture.floats("text_embeds"), shape: fixture.shape("text_embeds"))
            let added = AddedConditions(pooled: pooled, sizes: try fixture.floats("time_ids"))
            let out = bundle.unet(sample, timestep: Float(try XCTUnwrap(fixture.int("timestep"))), context: context, added: added)
                .permuted([0, 3, 1, 2])
            let (atol, rtol) = tolerance(on: backend)
            assertClose(out.toArray(), try fixture.floats("out"), atol: atol, rtol: rtol, "SDXL UNet, on \(backend.name)")
        }
    }

    /// A request as the case ran in diffusers; the size conditioning is set only where it is not the default.
    static func request(_ fixture: Fixture) throws -> GenerationRequest {
        var request = try GenerationRequest(fixture: fixture)
        request.width = try XCTUnwrap(fixture.int("width"))
        request.height = try XCTUnwrap(fixture.int("height"))
        request.timestepSpacing = fixture.string("timestep_spacing").flatMap(SchedulerConfiguration.TimestepSpacing.init)
        request.promptSyntax = .diffusers
        let output = PixelSize(width: request.width!, height: request.height!)
        let original = try size(fixture.string("original_size")), target = try size(fixture.string("target_size"))
        let crop = try size(fixture.string("crops_coords_top_left"))  // (top, left)
        if original != output { request.originalSize = original }
        if target != output { request.targetSize = target }
        if crop != PixelSize(width: 0, height: 0) { request.cropTopLeft = PixelPoint(x: crop.width, y: crop.height) }
        return request
    }

    func testImagesMatchDiffusers() throws {
        for backend in TestBackends.all {
            let service = try GenerationService(loading: .path(Self.model), backend: backend)
            // On the GPU: guidance (batch 2), SDXL-Turbo's single step without it (batch 1), size conditioning.
            for name in TestBackends.cases(try Self.cases(), on: backend,
                                           gpu: ["euler_negative", "turbo_1step", "dpmpp2m_size_conditioning"]) {
                let fixture = try Fixture("sdxl/\(name).safetensors")
                let request = try Self.request(fixture)
                for (index, key) in ["input_ids", "input_ids_2"].enumerated() {
                    XCTAssertEqual(service.model.textEncoders[index].tokenizer.encode(request.prompt, maxLength: 77).ids.map(Int64.init),
                                   try fixture.integers(key), "\(name): \(key)")
                }
                let image = try XCTUnwrap(try service.generate(request).first)
                XCTAssertEqual(image.truncatedTokens.prompt > 0, fixture.string("truncated") == "1", "\(name): truncation")
                assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "sdxl \(name), on \(backend.name)")
            }
        }
    }

    /// A1111's prompt reading runs both encoders (each padding as its tokenizer
    /// does, SDXL's empty negative prompt zeroed as A1111's conditioner does):
    /// a plain prompt within one chunk gives diffusers' image.
    func testA1111SyntaxOnPlainPromptsMatchesDiffusers() throws {
        let service = try GenerationService(loading: .path(Self.model), backend: TestBackends.cpu)
        for name in ["euler_empty_negative", "euler_negative"] {
            let fixture = try Fixture("sdxl/\(name).safetensors")
            var request = try Self.request(fixture)
            request.promptSyntax = .a1111
            let image = try XCTUnwrap(try service.generate(request).first)
            assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "sdxl \(name), A1111 syntax")
        }
    }

    /// The conditioning diffusers' encode_prompt gives: both encoders'
    /// penultimate states side by side, and the pooled projection.
    func testPromptEmbeddingsMatchDiffusers() throws {
        let bundle = try ModelBundle.load(.path(Self.model), backend: TestBackends.cpu)
        let encoder = CLIPPromptEncoder(encoders: bundle.textEncoders)
        for name in try Self.cases() {
            let fixture = try Fixture("sdxl/\(name).safetensors")
            let conditioning = try encoder.encode([try XCTUnwrap(fixture.string("prompt"))], labels: ["the prompt"], clipSkip: 0)
            assertClose(conditioning.sequence.toArray(), try fixture.floats("prompt_embeds"), atol: 1e-5, rtol: 1e-5, "\(name): prompt_embeds")
            assertClose(try XCTUnwrap(conditioning.pooled).toArray(), try fixture.floats("pooled_prompt_embeds"), atol: 1e-5, rtol: 1e-5,
                        "\(name): pooled_prompt_embeds")
        }
    }

    /// Size conditioning is SDXL's: other models refuse it rather than ignore it.
    func testSizeConditioningRefusedWithoutSDXL() throws {
        let service = try GenerationService(loading: .path(FixturePaths.url("pipeline")), backend: TestBackends.cpu)
        var request = GenerationRequest(prompt: "x", seed: 1)
        request.originalSize = PixelSize(width: 1024, height: 1024)
        XCTAssertThrowsError(try service.resolve(request)) { error in
            guard case .invalid(.sizeConditioning, _)? = error as? GenerationError else { return XCTFail("\(error)") }
        }
    }

    // MARK: Single file

    func testSingleFileIsDetectedAsSDXL() throws {
        let inferred = try SingleFileConfiguration(SafeTensorsFile(url: Self.singleFile))
        let unet = try UNetConfiguration.load(Self.model.appendingPathComponent("unet/config.json"))
        XCTAssertEqual(inferred.family, .stableDiffusionXL)
        XCTAssertEqual(inferred.unet.blockOutChannels, unet.blockOutChannels)
        XCTAssertEqual(inferred.unet.downBlockTypes, unet.downBlockTypes)
        XCTAssertEqual(inferred.unet.upBlockTypes, unet.upBlockTypes)
        XCTAssertEqual(inferred.unet.transformerDepths.dropFirst(), unet.transformerDepths.dropFirst(), "levels with attention")
        XCTAssertEqual(inferred.unet.crossAttentionDim, unet.crossAttentionDim)
        XCTAssertEqual(inferred.unet.projectionClassEmbeddingsInputDim, unet.projectionClassEmbeddingsInputDim)
        XCTAssertEqual(inferred.unet.addEmbeddingType, "text_time")
        XCTAssertEqual(inferred.unet.sampleSize, 128, "1024² by default")
        XCTAssertEqual(inferred.vae.scalingFactor, 0.13025)
        XCTAssertEqual(inferred.textEncoders.count, 2)
        XCTAssertEqual(inferred.textEncoders.map(\.withProjection), [false, true])
        for (index, name) in ["text_encoder", "text_encoder_2"].enumerated() {
            let expected = try CLIPTextConfiguration.load(Self.model.appendingPathComponent("\(name)/config.json"))
            let found = inferred.textEncoders[index].configuration
            XCTAssertEqual(found.hiddenSize, expected.hiddenSize, name)
            XCTAssertEqual(found.numHiddenLayers, expected.numHiddenLayers, name)
            XCTAssertEqual(found.intermediateSize, expected.intermediateSize, name)
            XCTAssertEqual(found.hiddenAct, expected.hiddenAct, name)
            XCTAssertEqual(found.vocabSize, expected.vocabSize, name)
        }
        XCTAssertEqual(inferred.textEncoders[1].configuration.projectionDim, 40)
    }

    /// Every tensor of the four models from the single file is the folder's,
    /// bit for bit (q/k/v cut from OpenCLIP's fused rows, its projection transposed).
    func testSingleFileLoadsTheFolderWeightsBitForBit() throws {
        let inferred = try SingleFileConfiguration(SafeTensorsFile(url: Self.singleFile))
        let single = WeightSource(files: [try SafeTensorsFile(url: Self.singleFile)], backend: TestBackends.cpu, dtype: .f32)
        let unetMap = CheckpointKeyMap.unetSingleFile(
            layersPerBlock: inferred.unet.layersPerBlock,
            upBlockHasAttention: inferred.unet.upBlockTypes.map { $0 == "CrossAttnUpBlock2D" })
        let components: [(file: String, map: CheckpointKeyMap.Map)] = [
            ("unet/diffusion_pytorch_model.safetensors", unetMap),
            ("vae/diffusion_pytorch_model.safetensors", CheckpointKeyMap.vaeSingleFile(blocks: inferred.vae.blockOutChannels.count)),
            ("text_encoder/model.safetensors", inferred.textEncoders[0].keyMap),
            ("text_encoder_2/model.safetensors", inferred.textEncoders[1].keyMap),
        ]
        var compared = 0
        for component in components {
            let file = try SafeTensorsFile(url: Self.model.appendingPathComponent(component.file))
            let folder = WeightSource(files: [file], backend: TestBackends.cpu, dtype: .f32)
            let mapped = single.remapped(component.map)
            for name in file.names where !name.hasSuffix("position_ids") {
                let key = name.hasPrefix("text_model.") ? String(name.dropFirst("text_model.".count)) : name
                let shape = try XCTUnwrap(file.info(name)).shape
                let theirs = try folder.tensor(name, shape: shape).toArray()
                let ours = try mapped.tensor(key, shape: shape, allowReshape: true).toArray()
                XCTAssertEqual(ours.map(\.bitPattern), theirs.map(\.bitPattern), "\(component.file): \(name)")
                compared += 1
            }
        }
        XCTAssertEqual(compared, 838 + 156 + 68 + 85)
    }

    /// The single file with the folder's configs (head counts and norm groups
    /// are not in the shapes) makes diffusers' image.
    func testSingleFileMakesTheFolderImage() throws {
        let service = try GenerationService(loading: .path(Self.singleFile), configurationFolder: Self.model,
                                            backend: TestBackends.cpu)
        XCTAssertEqual(service.model.family, .stableDiffusionXL)
        let fixture = try Fixture("sdxl/euler_empty_negative.safetensors")
        let image = try XCTUnwrap(try service.generate(try Self.request(fixture)).first)
        assertClose(image.pixels, try fixture.floats("image"), atol: 2e-3, rtol: 0, "sdxl single file euler_empty_negative")
    }
}
