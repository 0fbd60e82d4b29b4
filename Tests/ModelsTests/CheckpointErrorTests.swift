import Foundation
import Models
import SafeTensors
import TensorCore
import TestSupport
import XCTest

/// Wrong or partial checkpoints get one line naming the first offending key
/// and what was expected — before any inference.
final class CheckpointErrorTests: XCTestCase {
    var directory: URL!
    let backend = TestBackends.cpu

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdgen-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A copy of the tiny diffusers folder whose UNet file is rewritten by `edit`.
    func folderWithEditedUNet(_ edit: ([SafeTensorsWriter.Entry]) -> [SafeTensorsWriter.Entry]) throws -> URL {
        let copy = directory.appendingPathComponent("model")
        try FileManager.default.copyItem(at: FixturePaths.url("pipeline"), to: copy)
        let unetURL = copy.appendingPathComponent("unet/diffusion_pytorch_model.safetensors")
        let file = try SafeTensorsFile(url: unetURL)
        let entries = try file.names.map { name in
            let info = file.info(name)!
            return SafeTensorsWriter.Entry(name: name, dtype: info.dtype, shape: info.shape,
                                           bytes: Data(try file.bytes(name)))
        }
        try SafeTensorsWriter.write(edit(entries), to: unetURL)
        return copy
    }

    func assertLoadFails(_ url: URL, configurationFolder: URL? = nil, mentioning fragments: [String],
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try StableDiffusionCheckpoint(url: url, backend: backend,
                                                           configurationFolder: configurationFolder),
                             file: file, line: line) { error in
            let message = String(describing: error)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "expected '\(fragment)' in: \(message)", file: file, line: line)
            }
            XCTAssertFalse(message.contains("\n"), "not one line: \(message)", file: file, line: line)
        }
    }

    func testMissingTensorIsNamed() throws {
        let folder = try folderWithEditedUNet { $0.filter { $0.name != "mid_block.attentions.0.proj_out.weight" } }
        assertLoadFails(folder, mentioning: ["missing tensor 'mid_block.attentions.0.proj_out.weight'", "[32, 32]"])
    }

    func testWrongShapeIsNamed() throws {
        let folder = try folderWithEditedUNet { entries in
            entries.map { entry in
                guard entry.name == "conv_in.weight" else { return entry }
                return SafeTensorsWriter.Entry(name: entry.name, shape: [16, 9, 3, 3],
                                               floats: Array(repeating: 0, count: 16 * 9 * 9))
            }
        }
        assertLoadFails(folder, mentioning: ["conv_in.weight", "[16, 9, 3, 3]", "expected [16, 4, 3, 3]"])
    }

    func testTruncatedWeightsFile() throws {
        let copy = directory.appendingPathComponent("model")
        try FileManager.default.copyItem(at: FixturePaths.url("pipeline"), to: copy)
        let vae = copy.appendingPathComponent("vae/diffusion_pytorch_model.safetensors")
        let data = try Data(contentsOf: vae)
        try data.prefix(data.count / 2).write(to: vae)
        assertLoadFails(copy, mentioning: ["diffusion_pytorch_model.safetensors", "truncated"])
    }

    func testMissingVAEInFolder() throws {
        let copy = directory.appendingPathComponent("model")
        try FileManager.default.copyItem(at: FixturePaths.url("pipeline"), to: copy)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("vae"))
        assertLoadFails(copy, mentioning: ["vae/config.json"])
    }

    func testNotACheckpointFolder() throws {
        assertLoadFails(directory, mentioning: ["not a diffusers Stable Diffusion folder"])
    }

    /// A structure tensor of the wrong rank is one line naming it, not an index out of range.
    func testMalformedSDXLSingleFile() throws {
        let url = directory.appendingPathComponent("sdxl.safetensors")
        try SafeTensorsWriter.write([
            .init(name: "model.diffusion_model.input_blocks.0.0.weight", shape: [1], floats: [0]),
            .init(name: "model.diffusion_model.label_emb.0.0.weight", shape: [1], floats: [0]),
        ], to: url)
        assertLoadFails(url, mentioning: ["input_blocks.0.0.weight", "not 4-dimensional"])
    }

    /// SDXL's refiner (one OpenCLIP encoder, aesthetic-score conditioning) is named and refused.
    func testSDXLRefinerIsRefused() throws {
        let url = directory.appendingPathComponent("refiner.safetensors")
        try SafeTensorsWriter.write([
            .init(name: "conditioner.embedders.0.model.token_embedding.weight", shape: [1, 1], floats: [0]),
            .init(name: "model.diffusion_model.input_blocks.0.0.weight", shape: [1, 1, 1, 1], floats: [0]),
        ], to: url)
        assertLoadFails(url, mentioning: ["SDXL refiner"])
    }

    func testSingleFileWithoutVAE() throws {
        let source = try SafeTensorsFile(url: FixturePaths.url("pipeline_single_file/tiny_sd.safetensors"))
        let url = directory.appendingPathComponent("no-vae.safetensors")
        let entries = try source.names.filter { !$0.hasPrefix("first_stage_model.") }.map { name in
            let info = source.info(name)!
            return SafeTensorsWriter.Entry(name: name, dtype: info.dtype, shape: info.shape, bytes: Data(try source.bytes(name)))
        }
        try SafeTensorsWriter.write(entries, to: url)
        assertLoadFails(url, mentioning: ["no VAE"])
    }

    func testUnsupportedUNetConfiguration() throws {
        let cases: [(String, (inout UNetConfiguration) -> Void)] = [
            ("addition_embed_type", { $0.addEmbeddingType = "text_time" }),
            ("num_class_embeds", { $0.numClassEmbeds = 10 }),
            ("only_cross_attention", { $0.onlyCrossAttention = .perBlock([false, true, false, false]) }),
            ("dual_cross_attention", { $0.dualCrossAttention = true }),
        ]
        for (key, change) in cases {
            var configuration = UNetConfiguration.stableDiffusion15
            change(&configuration)
            XCTAssertThrowsError(try UNet2DConditionModel(configuration: configuration,
                                                          weights: WeightSource(randomWithSeed: 0, backend: FLOPCounter()).root)) {
                XCTAssertTrue(String(describing: $0).contains(key), "\($0)")
            }
        }
    }

    /// SD 2.x's config keys read as diffusers reads them: per-block head
    /// counts, linear projections, upcast attention (a no-op in f32).
    func testStableDiffusion2ConfigurationLoads() throws {
        let json = """
            {"_class_name": "UNet2DConditionModel", "attention_head_dim": [5, 10, 20, 20], "cross_attention_dim": 1024,
             "use_linear_projection": true, "upcast_attention": true, "only_cross_attention": false,
             "dual_cross_attention": false, "num_class_embeds": null, "sample_size": 96}
            """
        let configuration = try JSONDecoder().decode(UNetConfiguration.self, from: Data(json.utf8))
        XCTAssertEqual(configuration.headsPerBlock, [5, 10, 20, 20])
        XCTAssertTrue(configuration.useLinearProjection && configuration.upcastAttention)
        XCTAssertEqual(configuration.crossAttentionDim, 1024)
        XCTAssertNoThrow(try configuration.validate(source: "sd21"))
    }
}
