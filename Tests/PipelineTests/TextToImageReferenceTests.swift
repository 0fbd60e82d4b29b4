import Foundation
import Models
import Pipeline
import Schedulers
import TensorCore
import TestSupport
import Tokenizers
import XCTest

/// The whole text-to-image pipeline against diffusers' StableDiffusionPipeline
/// on the tiny random-weight model (Tests/Fixtures/pipeline), same seed,
/// weights and scheduler: PNDM with guidance 7.5, Euler with a negative prompt
/// and guidance 5, DDIM without guidance on a prompt longer than 77 tokens.
/// Image tolerance 2e-3 on [0, 1] pixels before rounding; the token ids and
/// initial latents must match exactly.
final class TextToImageReferenceTests: XCTestCase {
    func check(_ name: String, layout: StableDiffusionCheckpoint.Layout,
               on backends: [any Backend] = TestBackends.all, atol: Float = 2e-3) throws {
        let expected = try Fixture("pipeline/expected/\(name).safetensors")
        for backend in backends {
            let folder = FixturePaths.url("pipeline")
            let service = layout == .diffusersFolder
                ? try GenerationService(loading: .path(folder), backend: backend)
                : try GenerationService(loading: .path(FixturePaths.url("pipeline_single_file/tiny_sd.safetensors")),
                                        configurationFolder: folder, backend: backend)
            let tokenizer = service.model.textEncoders[0].tokenizer

            var request = GenerationRequest(prompt: expected.string("prompt")!, seed: UInt64(expected.string("seed")!)!)
            request.negativePrompt = expected.string("negative_prompt") ?? ""
            request.steps = expected.int("steps")!
            request.guidance = expected.float("guidance")!
            request.width = expected.int("width")!
            request.height = expected.int("height")!
            request.scheduler = SchedulerKind(rawValue: expected.string("scheduler")!)!
            // diffusers' own reading of the prompt: the fixtures are its images (one prompt runs past 77 tokens).
            request.promptSyntax = .diffusers

            let ids = tokenizer.encode(request.prompt, maxLength: 77).ids
            XCTAssertEqual(ids.map(Int64.init), try expected.integers("input_ids"), "\(name): prompt ids")

            let result = try XCTUnwrap(try service.generate(request).first)
            XCTAssertEqual(result.truncatedTokens.prompt > 0, expected.string("truncated") == "1", "\(name): truncation")
            assertClose(result.pixels, try expected.floats("image"), atol: atol, rtol: 0,
                        "pipeline \(name), \(layout.rawValue), on \(backend.name)")
        }
    }

    func testPNDMWithGuidance() throws { try check("pndm", layout: .diffusersFolder) }
    func testEulerWithNegativePrompt() throws { try check("euler", layout: .diffusersFolder) }
    func testDDIMWithoutGuidanceTruncatedPrompt() throws { try check("ddim", layout: .diffusersFolder) }
    func testSingleFileCheckpointGivesTheSameImage() throws { try check("pndm", layout: .singleFile) }

    /// The single file stores f16, which the CPU keeps and converts per use:
    /// here widened for OpenBLAS (as on CPUs without AVX-512) in blocks of a few rows and Winograd kernels a few channels at a
    /// time, so every weight crosses block boundaries; the feed-forwards run 64 tokens at a time, so the UNet's 2 × 256
    /// tokens and the text encoder's 2 × 77 cross block boundaries too.
    func testHalfWeightsWidenedInSmallBlocks() throws {
        var tuning = CPUBackend.Tuning()
        tuning.widenedBlockBytes = 4 * 100
        tuning.packsStoredWeights = false
        tuning.winogradKernelChunkBytes = 36 * 4 * 32 * 8
        tuning.rowBlocking = RowBlocking(bytes: 1, minimumRows: 64)
        try check("pndm", layout: .singleFile, on: [CPUBackend(threads: 2, convolution: .winograd, tuning: tuning)])
    }

    /// `--precision bf16` through the whole pipeline against diffusers' f32
    /// images: every product's operands lose 16 bits, 25 denoising steps
    /// compound it, observed up to 1e-2 of the [0, 1] range; stated 3e-2
    /// (8 of 255 levels). A broken product would miss by O(1).
    func testBFloat16Products() throws {
        try check("pndm", layout: .diffusersFolder, on: TestBackends.cpuBFloat16, atol: 3e-2)
        try check("euler", layout: .singleFile, on: TestBackends.cpuBFloat16, atol: 3e-2)
    }

    /// The initial latents are torch.randn's for the seed, bit for bit.
    func testInitialLatentsMatchTorch() throws {
        let expected = try Fixture("pipeline/expected/euler.safetensors")
        var random = RandomSourceKind.torch.makeSource(seed: 7)
        XCTAssertEqual(random.normal(count: 4 * 16 * 16), try expected.floats("latents"))
    }
}
