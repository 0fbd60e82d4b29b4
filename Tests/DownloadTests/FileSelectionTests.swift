import Foundation
import HubDownload
import XCTest

/// Which files of a diffusers repository are fetched.
final class FileSelectionTests: XCTestCase {
    /// The files of stable-diffusion-v1-5/stable-diffusion-v1-5 on the Hub.
    static let stableDiffusion15 = [
        ".gitattributes", "README.md", "feature_extractor/preprocessor_config.json", "model_index.json",
        "safety_checker/config.json", "safety_checker/model.fp16.safetensors", "safety_checker/model.safetensors",
        "safety_checker/pytorch_model.bin", "safety_checker/pytorch_model.fp16.bin", "scheduler/scheduler_config.json",
        "text_encoder/config.json", "text_encoder/model.fp16.safetensors", "text_encoder/model.safetensors",
        "text_encoder/pytorch_model.bin", "text_encoder/pytorch_model.fp16.bin", "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json", "unet/config.json",
        "unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.fp16.bin",
        "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.non_ema.bin",
        "unet/diffusion_pytorch_model.non_ema.safetensors", "unet/diffusion_pytorch_model.safetensors",
        "v1-5-pruned-emaonly.ckpt", "v1-5-pruned-emaonly.safetensors", "v1-5-pruned.ckpt", "v1-5-pruned.safetensors",
        "v1-inference.yaml", "vae/config.json", "vae/diffusion_pytorch_model.bin", "vae/diffusion_pytorch_model.fp16.bin",
        "vae/diffusion_pytorch_model.fp16.safetensors", "vae/diffusion_pytorch_model.safetensors",
    ]

    func entries(_ paths: [String]) -> [RepositoryEntry] {
        paths.map { RepositoryEntry(path: $0, size: 1, digest: .none) }
    }

    func testStableDiffusion15GetsTheTwelveFilesThePipelineNeeds() throws {
        let chosen = try FileSelection.select(entries(Self.stableDiffusion15), repository: .stableDiffusion15).map(\.path)
        XCTAssertEqual(Set(chosen), [
            "model_index.json", "scheduler/scheduler_config.json",
            "text_encoder/config.json", "text_encoder/model.fp16.safetensors",
            "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
            "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors",
            "vae/config.json", "vae/diffusion_pytorch_model.fp16.safetensors",
        ])
        XCTAssertEqual(chosen.count, 12)
        XCTAssertEqual(chosen.last, "model_index.json")
    }

    /// stabilityai/stable-diffusion-xl-base-1.0: also the second text encoder and tokenizer,
    /// none of the other VAE variants, refiner-style extras or the root single files.
    func testSDXLGetsItsSecondTextEncoderAndTokenizer() throws {
        let sdxl = [
            "model_index.json", "scheduler/scheduler_config.json", "sd_xl_base_1.0.safetensors", "sd_xl_offset_example-lora_1.0.safetensors",
            "text_encoder/config.json", "text_encoder/model.fp16.safetensors", "text_encoder/model.safetensors",
            "text_encoder_2/config.json", "text_encoder_2/model.fp16.safetensors", "text_encoder_2/model.safetensors",
            "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
            "tokenizer_2/merges.txt", "tokenizer_2/special_tokens_map.json", "tokenizer_2/tokenizer_config.json", "tokenizer_2/vocab.json",
            "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.safetensors",
            "vae/config.json", "vae/diffusion_pytorch_model.fp16.safetensors", "vae/diffusion_pytorch_model.safetensors",
            "vae_1_0/config.json", "vae_1_0/diffusion_pytorch_model.fp16.safetensors", "vae_decoder/model.onnx",
        ]
        let repository = try HubRepository("stabilityai/stable-diffusion-xl-base-1.0")
        let chosen = try FileSelection.select(entries(sdxl), repository: repository).map(\.path)
        XCTAssertEqual(Set(chosen), [
            "model_index.json", "scheduler/scheduler_config.json",
            "text_encoder/config.json", "text_encoder/model.fp16.safetensors",
            "text_encoder_2/config.json", "text_encoder_2/model.fp16.safetensors",
            "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
            "tokenizer_2/merges.txt", "tokenizer_2/special_tokens_map.json", "tokenizer_2/tokenizer_config.json",
            "tokenizer_2/vocab.json",
            "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors",
            "vae/config.json", "vae/diffusion_pytorch_model.fp16.safetensors",
        ])
        XCTAssertEqual(chosen.last, "model_index.json")
    }

    /// A single-model repository (madebyollin/taesd): its config and weights, config last.
    func testASingleModelRepositoryGetsItsConfigAndWeights() throws {
        let taesd = [".gitattributes", "README.md", "config.json", "diffusion_pytorch_model.bin",
                     "diffusion_pytorch_model.safetensors", "taesd_decoder.pth", "taesd_decoder.safetensors",
                     "taesd_encoder.pth", "images/reconstruction_example.jpg"]
        let repository = try HubRepository("madebyollin/taesd")
        let chosen = try FileSelection.select(entries(taesd), repository: repository).map(\.path)
        XCTAssertEqual(chosen, ["diffusion_pytorch_model.safetensors", "config.json"])
        XCTAssertThrowsError(try FileSelection.select(entries(taesd.filter { !$0.hasPrefix("diffusion_pytorch_model.s") }),
                                                      repository: repository)) { error in
            XCTAssertTrue("\(error)".contains("or diffusion_pytorch_model.safetensors (found:"), "\(error)")
            XCTAssertTrue("\(error)".contains("diffusion_pytorch_model.bin, taesd_decoder.pth"), "\(error)")
        }
    }

    func testFullPrecisionTakesThePlainSafetensors() throws {
        let chosen = try FileSelection.select(entries(Self.stableDiffusion15), repository: .stableDiffusion15,
                                              precision: .fp32).map(\.path)
        XCTAssertTrue(chosen.contains("unet/diffusion_pytorch_model.safetensors"))
        XCTAssertTrue(chosen.contains("text_encoder/model.safetensors"))
        XCTAssertFalse(chosen.contains { $0.contains("fp16") })
    }

    func testARepositoryWithoutFp16FallsBackPerComponent() throws {
        let paths = Self.stableDiffusion15.filter { $0 != "vae/diffusion_pytorch_model.fp16.safetensors" }
        let chosen = try FileSelection.select(entries(paths), repository: .stableDiffusion15).map(\.path)
        XCTAssertTrue(chosen.contains("vae/diffusion_pytorch_model.safetensors"))
        XCTAssertTrue(chosen.contains("unet/diffusion_pytorch_model.fp16.safetensors"))
    }

    func testPickleOnlyWeightsAreRefusedWithWhatWasFound() {
        let paths = Self.stableDiffusion15.filter { !($0.hasPrefix("unet/") && $0.hasSuffix(".safetensors")) }
        XCTAssertThrowsError(try FileSelection.select(entries(paths), repository: .stableDiffusion15)) { error in
            XCTAssertTrue("\(error)".contains("no unet/diffusion_pytorch_model.fp16.safetensors or unet/diffusion_pytorch_model.safetensors"), "\(error)")
            XCTAssertTrue("\(error)".contains("found: diffusion_pytorch_model.bin"), "\(error)")
        }
    }

    func testANonDiffusersRepositoryIsRefused() {
        XCTAssertThrowsError(try FileSelection.select(entries(["config.json", "model.safetensors"]),
                                                      repository: try! HubRepository("org/bert"))) { error in
            XCTAssertEqual("\(error)", "org/bert is not a Stable Diffusion diffusers repository sdgen can use: no model_index.json")
        }
    }

    func testUnsafePathsInAListingAreDropped() throws {
        let json = """
            [{"type":"file","path":"../../etc/passwd","size":3,"oid":"a"},
             {"type":"file","path":"unet//x","size":3,"oid":"a"},
             {"type":"directory","path":"unet","size":0,"oid":"b"},
             {"type":"file","path":"unet/config.json","size":3,"oid":"ABC"},
             {"type":"file","path":"unet/w.safetensors","size":134,"oid":"c","lfs":{"oid":"DEF","size":99,"pointerSize":134}}]
            """
        let decoded = try RepositoryListing.decodeTree(Data(json.utf8))
        XCTAssertEqual(decoded, [RepositoryEntry(path: "unet/config.json", size: 3, digest: .gitBlobSHA1("abc")),
                                 RepositoryEntry(path: "unet/w.safetensors", size: 99, digest: .sha256("def"))])
    }

    func testFileURLsEncodeRevisionAndPath() throws {
        let client = HubClient(configuration: try HubConfiguration(endpoint: URL(string: "https://hf-mirror.example/")!))
        XCTAssertEqual(client.fileURL(.stableDiffusion15, revision: "refs/pr/1", path: "unet/a b.json").absoluteString,
                       "https://hf-mirror.example/stable-diffusion-v1-5/stable-diffusion-v1-5/resolve/refs%2Fpr%2F1/unet/a%20b.json")
    }

    func testEnvironment() throws {
        let configuration = try HubConfiguration.fromEnvironment(["HF_ENDPOINT": "http://127.0.0.1:1/", "HF_TOKEN": " hf_x\n"])
        XCTAssertEqual(configuration.endpoint.absoluteString, "http://127.0.0.1:1")
        XCTAssertEqual(configuration.token, "hf_x")
        let explicit = try HubConfiguration.fromEnvironment(["HF_ENDPOINT": "http://a.example", "HF_TOKEN_PATH": "/nonexistent"],
                                                            endpoint: "http://b.example")
        XCTAssertEqual(explicit.endpoint.absoluteString, "http://b.example")
        XCTAssertNil(explicit.token)
        XCTAssertEqual(try HubConfiguration.fromEnvironment(["HF_TOKEN_PATH": "/nonexistent"]).endpoint,
                       HubConfiguration.defaultEndpoint)
    }
}
