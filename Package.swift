// swift-tools-version:6.0
import PackageDescription

// The kernels are written for x86-64 with AVX2, FMA and F16C (every x86 CPU
// since 2013); Haswell is the oldest target that has all three.
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"]),
]

let package = Package(
    name: "sdgen",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "sdgen", targets: ["sdgen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // `sdgen serve`: the HTTP server, its graceful shutdown and its /metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C shims: system libraries and the SentencePiece C API.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        // Vulkan types only: libvulkan is opened at run time (see Sources/CVulkan/shim.h).
        .systemLibrary(name: "CVulkan", providers: [.apt(["libvulkan-dev"])]),
        .target(name: "CSentencePiece",
                cxxSettings: [.unsafeFlags(["-std=c++17"])],
                linkerSettings: [.linkedLibrary("sentencepiece")]),
        // The CPU backend's AVX-512 kernels (intrinsics, chosen at run time):
        // bf16 and f32 GEMM, fused attention.
        .target(name: "CPUKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // libpng calls behind setjmp, so libpng's longjmp never crosses Swift frames.
        .target(name: "CPNGShim", dependencies: ["CPNG"]),
        // JPEG input through libjpeg-turbo (libjpeg-dev), its error_exit behind setjmp likewise.
        .target(name: "CJPEGShim", linkerSettings: [.linkedLibrary("jpeg")]),

        // Tensor core: Tensor, the op interface, the CPU backend.
        .target(name: "TensorCore", dependencies: ["CBLAS", "CVulkan", "CPUKernels"],
                exclude: ["Vulkan/Shaders"], swiftSettings: kernelFlags),
        .target(name: "SafeTensors", dependencies: ["TensorCore"]),
        // Resources/ holds the CLIP merges shipped for single-file checkpoints;
        // SwiftPM copies it next to the binary as sdgen_Tokenizers.resources/.
        .target(name: "Tokenizers", dependencies: ["CSentencePiece"], resources: [.copy("Resources")]),
        .target(name: "Models", dependencies: ["TensorCore", "SafeTensors"]),
        .target(name: "Schedulers"),
        .target(name: "ImageIO", dependencies: ["CPNGShim", "CJPEGShim"]),
        // A1111's prompt language: emphasis, BREAK, editing and alternation, <lora:…> tags,
        // 75-token chunks, embeddings. Apart from Pipeline so the fuzz build, which parses
        // prompts, compiles neither the pipeline nor swift-crypto under ASan.
        .target(name: "PromptLanguage", dependencies: ["Tokenizers", "SafeTensors"]),
        .target(name: "Pipeline", dependencies: [
            "TensorCore", "SafeTensors", "Tokenizers", "PromptLanguage", "Models", "Schedulers", "ImageIO",
            .product(name: "Logging", package: "swift-log"),
            // LoRA short hashes (A1111's sha256 of the file after its header).
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Fetching models from the Hugging Face Hub (HTTP through Foundation's URLSession).
        .target(name: "HubDownload", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // `sdgen serve`: AUTOMATIC1111's /sdapi/v1 API and a web page over one GenerationService.
        .target(name: "Server", dependencies: [
            "Pipeline", "PromptLanguage", "Models", "ImageIO", "Schedulers", "TensorCore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], resources: [.embedInCode("WebPage/index.html"), .embedInCode("WebPage/app.js"), .embedInCode("WebPage/style.css")]),
        .executableTarget(name: "sdgen", dependencies: [
            "Pipeline", "PromptLanguage", "HubDownload", "Server", "Models", "TensorCore", "SafeTensors", "ImageIO", "Tokenizers", "Schedulers",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Fuzz targets for every parser of outside bytes (scripts/fuzz.sh builds them
        // with libFuzzer and ASan; an ordinary build replays inputs through them).
        .executableTarget(name: "sdgen-fuzz", dependencies: ["SafeTensors", "Models", "Schedulers", "Tokenizers", "PromptLanguage",
                                                             "ImageIO", "TensorCore"],
                          path: "Fuzz", exclude: ["Corpus"]),

        // Measurements behind design decisions (docs/layout.md).
        .executableTarget(name: "Microbench", dependencies: ["TensorCore", "CBLAS"], swiftSettings: kernelFlags),

        // Tests. Numeric tests compare against reference fixtures recorded by
        // scripts/reference/make_fixtures.py (see Tests/Fixtures/README.md).
        .target(name: "TestSupport", dependencies: ["TensorCore", "SafeTensors"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "CPUKernels", "SafeTensors", "TestSupport"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "TensorCore", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "SafeTensors", "TensorCore", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "PromptLanguage", "Models", "TensorCore", "Tokenizers", "Schedulers", "ImageIO",
                                                          "SafeTensors", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["ImageIO", "Pipeline", "TensorCore", "TestSupport"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Pipeline", "ImageIO", "TensorCore", "TestSupport",
                                                        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                        .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "SchedulersTests", dependencies: ["Schedulers", "TestSupport"]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "TestSupport"]),
        .testTarget(name: "DownloadTests", dependencies: ["HubDownload", "Models", "TensorCore", "TestSupport",
                                                          .product(name: "Crypto", package: "swift-crypto")]),
    ],
    cxxLanguageStandard: .cxx17
)
