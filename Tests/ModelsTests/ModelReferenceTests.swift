import Foundation
import Models
import SafeTensors
import TensorCore
import TestSupport
import XCTest

/// The four networks against the reference implementations (diffusers,
/// transformers) on tiny random-weight models with the real block structure,
/// recorded by scripts/reference/fixtures_models.py.
///
/// Tolerance: 1e-4 absolute + 1e-4 relative. Each model chains dozens of f32
/// GEMMs and norms whose summation order differs from PyTorch's; the
/// observed errors are reported by the assertion message when exceeded.
final class ModelReferenceTests: XCTestCase {
    /// Every backend, and the CPU with bf16 matrix products (`--precision bf16`).
    let backends: [any Backend] = TestBackends.all + TestBackends.cpuBFloat16

    /// f32 backends: 1e-4 absolute + 1e-4 relative. bf16 products: see
    /// `bfloat16Tolerance`.
    func tolerance(on backend: any Backend) -> (atol: Float, rtol: Float) {
        (backend as? CPUBackend)?.precision == .bf16 ? Self.bfloat16Tolerance : (1e-4, 1e-4)
    }

    /// bf16 rounds every product's operands to 8 significant bits (unit
    /// roundoff 2⁻⁹ ≈ 2e-3), and each model chains tens of products, so its
    /// unit-scale outputs move by ~1e-2: observed 0.008 (VAE encoder) to
    /// 0.023 (4-block UNet). Stated with a 2× margin; a wrong product or a
    /// missed operand would be off by O(1).
    static let bfloat16Tolerance: (atol: Float, rtol: Float) = (4e-2, 2e-2)

    var pipelineFolder: URL { FixturePaths.url("pipeline") }

    func loadFolder(_ backend: any Backend) throws -> StableDiffusionCheckpoint {
        try StableDiffusionCheckpoint(url: pipelineFolder, backend: backend)
    }

    var singleFile: URL { FixturePaths.url("pipeline_single_file/tiny_sd.safetensors") }

    /// The tiny models use 8 norm groups and 4 CLIP heads, which no tensor
    /// shape reveals (real SD 1.x has 32 and 12), so the folder's configs are
    /// given, as diffusers' from_single_file(config:) takes them.
    func loadSingleFile(_ backend: any Backend) throws -> StableDiffusionCheckpoint {
        try StableDiffusionCheckpoint(url: singleFile, backend: backend, configurationFolder: pipelineFolder)
    }

    /// Everything the shapes do reveal is read correctly from the single file.
    func testSingleFileConfigurationInferredFromShapes() throws {
        let inferred = try SingleFileConfiguration(SafeTensorsFile(url: singleFile))
        let unet = try UNetConfiguration.load(pipelineFolder.appendingPathComponent("unet/config.json"))
        let vae = try VAEConfiguration.load(pipelineFolder.appendingPathComponent("vae/config.json"))
        let clip = try CLIPTextConfiguration.load(pipelineFolder.appendingPathComponent("text_encoder/config.json"))
        XCTAssertEqual(inferred.unet.blockOutChannels, unet.blockOutChannels)
        XCTAssertEqual(inferred.unet.layersPerBlock, unet.layersPerBlock)
        XCTAssertEqual(inferred.unet.downBlockTypes, unet.downBlockTypes)
        XCTAssertEqual(inferred.unet.upBlockTypes, unet.upBlockTypes)
        XCTAssertEqual(inferred.unet.crossAttentionDim, unet.crossAttentionDim)
        XCTAssertEqual(inferred.unet.useLinearProjection, unet.useLinearProjection)
        XCTAssertEqual(inferred.unet.inChannels, unet.inChannels)
        XCTAssertEqual(inferred.unet.outChannels, unet.outChannels)
        XCTAssertEqual(inferred.vae.blockOutChannels, vae.blockOutChannels)
        XCTAssertEqual(inferred.vae.layersPerBlock, vae.layersPerBlock)
        XCTAssertEqual(inferred.vae.latentChannels, vae.latentChannels)
        XCTAssertEqual(inferred.clip.vocabSize, clip.vocabSize)
        XCTAssertEqual(inferred.clip.hiddenSize, clip.hiddenSize)
        XCTAssertEqual(inferred.clip.intermediateSize, clip.intermediateSize)
        XCTAssertEqual(inferred.clip.numHiddenLayers, clip.numHiddenLayers)
    }

    /// Both layouts must load and give the same reference results.
    func forEachCheckpoint(_ body: (StableDiffusionCheckpoint, String, (atol: Float, rtol: Float)) throws -> Void) throws {
        for backend in backends {
            try body(try loadFolder(backend), "diffusers folder on \(backend.name)", tolerance(on: backend))
            try body(try loadSingleFile(backend), "single file on \(backend.name)", tolerance(on: backend))
        }
    }

    func testTextEncoderLastAndPenultimateLayers() throws {
        let io = try Fixture("pipeline/io/text_encoder.safetensors")
        let ids = try io.integers("input_ids").map { Int32($0) }
        let shape = io.shape("input_ids")
        let batch = (0..<shape[0]).map { Array(ids[$0 * shape[1]..<($0 + 1) * shape[1]]) }
        try forEachCheckpoint { checkpoint, label, tolerance in
            let last = try checkpoint.textEncoders[0](batch)
            XCTAssertEqual(last.shape, io.shape("last_hidden_state"))
            assertClose(last.toArray(), try io.floats("last_hidden_state"), atol: tolerance.atol, rtol: tolerance.rtol, "CLIP last, \(label)")
            let penultimate = try checkpoint.textEncoders[0](batch, skip: 1)
            assertClose(penultimate.toArray(), try io.floats("penultimate"), atol: tolerance.atol, rtol: tolerance.rtol, "CLIP skip 1, \(label)")
        }
    }

    /// The pooled vector (transformers' pooler_output, at each sequence's
    /// first EOS) and, through text_projection, CLIPTextModelWithProjection's
    /// text_embeds, as SDXL's second encoder gives them; the hidden states
    /// alongside are the plain model's.
    func testTextEncoderPooledAndProjectedOutputs() throws {
        let fixture = try Fixture("text_encoders/pooled.safetensors")
        let ids = try fixture.integers("input_ids").map { Int32($0) }
        let shape = fixture.shape("input_ids")
        let batch = (0..<shape[0]).map { Array(ids[$0 * shape[1]..<($0 + 1) * shape[1]]) }
        let files = [try SafeTensorsFile(url: pipelineFolder.appendingPathComponent("text_encoder/model.safetensors")),
                     try SafeTensorsFile(url: FixturePaths.url("text_encoders/pooled.safetensors"))]
        let configuration = try CLIPTextConfiguration.load(pipelineFolder.appendingPathComponent("text_encoder/config.json"))
        for backend in backends {
            let (atol, rtol) = tolerance(on: backend)
            let weights = WeightSource(files: files, backend: backend, keyMap: CheckpointKeyMap.clipFolder).root
            let plain = try CLIPTextModel(configuration: configuration, weights: weights)
            let pooled = try XCTUnwrap(try plain.encode(batch, pooled: true).pooled)
            assertClose(pooled.toArray(), try fixture.floats("pooler_output"), atol: atol, rtol: rtol,
                        "CLIP pooler_output on \(backend.name)")
            let projected = try CLIPTextModel(configuration: configuration, weights: weights, withProjection: true)
            let output = try projected.encode(batch, skip: 1, pooled: true)
            assertClose(try XCTUnwrap(output.pooled).toArray(), try fixture.floats("text_embeds"), atol: atol, rtol: rtol,
                        "CLIP text_embeds on \(backend.name)")
            XCTAssertEqual(output.hiddenStates.toArray(), try plain(batch, skip: 1).toArray(), "hidden states as without pooling")
        }
    }

    func testUNetNoisePrediction() throws {
        let io = try Fixture("pipeline/io/unet.safetensors")
        try forEachCheckpoint { checkpoint, label, tolerance in
            let backend = checkpoint.unet.convIn.weight.backend
            let sample = try io.imageNHWC("sample", on: backend)
            let context = try io.tensor("encoder_hidden_states", on: backend)
            for (timestepName, outName) in [("timestep", "out"), ("timestep_t1", "out_t1")]
            where !io.shape(outName).isEmpty {
                let t = try io.floats(timestepName)[0]
                let out = checkpoint.unet(sample, timestep: t, context: context).permuted([0, 3, 1, 2])
                XCTAssertEqual(out.shape, io.shape(outName))
                assertClose(out.toArray(), try io.floats(outName), atol: tolerance.atol, rtol: tolerance.rtol, "UNet t=\(t), \(label)")
            }
        }
    }

    func testVAEDecoder() throws {
        let io = try Fixture("pipeline/io/vae_decoder.safetensors")
        try forEachCheckpoint { checkpoint, label, tolerance in
            let backend = checkpoint.unet.convIn.weight.backend
            let image = checkpoint.vaeDecoder(try io.imageNHWC("latents", on: backend)).permuted([0, 3, 1, 2])
            XCTAssertEqual(image.shape, io.shape("out"))
            assertClose(image.toArray(), try io.floats("out"), atol: tolerance.atol, rtol: tolerance.rtol, "VAE decoder, \(label)")
        }
    }

    func testVAEEncoder() throws {
        let io = try Fixture("pipeline/io/vae_encoder.safetensors")
        try forEachCheckpoint { checkpoint, label, tolerance in
            let backend = checkpoint.unet.convIn.weight.backend
            let moments = try checkpoint.loadVAEEncoder()(try io.imageNHWC("image", on: backend)).permuted([0, 3, 1, 2])
            XCTAssertEqual(moments.shape, io.shape("moments"))
            assertClose(moments.toArray(), try io.floats("moments"), atol: tolerance.atol, rtol: tolerance.rtol, "VAE encoder, \(label)")
        }
    }

    /// SD 1.5's block structure (CrossAttnDown×3 + Down) at tiny width, with
    /// SD 2-style linear projections, f16 weights and an 11-token context.
    func testFourBlockUNetWithLinearProjection() throws {
        try checkFourBlockUNet("unet4/io.safetensors", label: "4-block UNet")
    }

    /// unet4's weights on a 10×13 latent (an 80×104 image): no side a
    /// multiple of the UNet's factor 8, so the upsamplers resize to each
    /// skip's size (2→3→5 rows, 4→7→13 columns), as diffusers does.
    func testUNetOnSidesNotMultiplesOfItsFactor() throws {
        try checkFourBlockUNet("unet_ragged/io.safetensors", label: "UNet at a 10×13 latent")
    }

    /// unet4's folder against an input/output fixture, on every backend.
    private func checkFourBlockUNet(_ fixture: String, label: String) throws {
        let folder = FixturePaths.url("unet4")
        let io = try Fixture(fixture)
        for backend in backends {
            let tolerance = tolerance(on: backend)
            let configuration = try UNetConfiguration.load(folder.appendingPathComponent("config.json"))
            XCTAssertEqual(configuration.blockOutChannels.count, 4)
            let file = try SafeTensorsFile(url: folder.appendingPathComponent("diffusion_pytorch_model.safetensors"))
            let unet = try UNet2DConditionModel(configuration: configuration,
                                                weights: WeightSource(files: [file], backend: backend).root)
            let out = unet(try io.imageNHWC("sample", on: backend), timestep: try io.floats("timestep")[0],
                           context: try io.tensor("encoder_hidden_states", on: backend)).permuted([0, 3, 1, 2])
            XCTAssertEqual(out.shape, io.shape("out"), label)
            assertClose(out.toArray(), try io.floats("out"), atol: tolerance.atol, rtol: tolerance.rtol,
                        "\(label) on \(backend.name)")
        }
    }

    /// A BertForPreTraining checkpoint (`bert.` prefix, `cls.*` heads) with a
    /// padded row and token types.
    func testBertWithPaddingAndTokenTypes() throws {
        let folder = FixturePaths.url("bert")
        let io = try Fixture("bert/io.safetensors")
        let shape = io.shape("input_ids")
        func rows(_ name: String) throws -> [[Int32]] {
            let flat = try io.integers(name).map { Int32($0) }
            return (0..<shape[0]).map { Array(flat[$0 * shape[1]..<($0 + 1) * shape[1]]) }
        }
        for backend in backends {
            let tolerance = tolerance(on: backend)
            let configuration = try BertConfiguration.load(folder.appendingPathComponent("config.json"))
            let file = try SafeTensorsFile(url: folder.appendingPathComponent("model.safetensors"))
            let bert = try BertModel(configuration: configuration,
                                     weights: WeightSource(files: [file], backend: backend,
                                                           keyMap: CheckpointKeyMap.bertFolder).root)
            let output = try bert(ids: try rows("input_ids"), attentionMask: try rows("attention_mask"),
                              tokenTypes: try rows("token_type_ids"))
            assertClose(output.lastHiddenState.toArray(), try io.floats("last_hidden_state"),
                        atol: tolerance.atol, rtol: tolerance.rtol, "BERT hidden states on \(backend.name)")
            assertClose(output.pooled?.toArray() ?? [], try io.floats("pooler_output"),
                        atol: tolerance.atol, rtol: tolerance.rtol, "BERT pooler on \(backend.name)")
            // A vocab.txt of a larger model: an error, not a trap in the embedding lookup.
            let vocabulary = configuration.vocabSize
            XCTAssertThrowsError(try bert(ids: [[1, Int32(vocabulary), 2]])) {
                XCTAssertEqual($0 as? ModelInputError, .tokenOutOfRange(Int32(vocabulary), vocabulary: vocabulary))
            }
            XCTAssertThrowsError(try bert(ids: [[1, 2], [3]])) {
                XCTAssertEqual($0 as? ModelInputError, .unequalLengths([2, 1]))
            }
            XCTAssertThrowsError(try bert(ids: [[1, 2]], tokenTypes: [[0, Int32(configuration.typeVocabSize)]])) {
                XCTAssertEqual($0 as? ModelInputError,
                               .tokenTypeOutOfRange(Int32(configuration.typeVocabSize), types: configuration.typeVocabSize))
            }
        }
    }
}
