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

        // Tensor core: Tensor, the op interface, the CPU backend.
        .target(name: "TensorCore", dependencies: ["CBLAS", "CVulkan"],
                exclude: ["Vulkan/Shaders"], swiftSettings: kernelFlags),
        .target(name: "SafeTensors", dependencies: ["TensorCore"]),
        .target(name: "Tokenizers", dependencies: ["CSentencePiece"]),
        .target(name: "Models", dependencies: ["TensorCore", "SafeTensors"]),
        .target(name: "Schedulers"),
        .target(name: "ImageIO", dependencies: ["CPNG"]),
        .target(name: "Pipeline", dependencies: [
            "TensorCore", "SafeTensors", "Tokenizers", "Models", "Schedulers", "ImageIO",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "sdgen", dependencies: [
            "Pipeline", "Models", "TensorCore", "SafeTensors",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Measurements behind design decisions (docs/layout.md).
        .executableTarget(name: "Microbench", dependencies: ["TensorCore", "CBLAS"], swiftSettings: kernelFlags),

        // Tests. Numeric tests compare against reference fixtures recorded by
        // scripts/reference/make_fixtures.py (see Tests/Fixtures/README.md).
        .target(name: "TestSupport", dependencies: ["TensorCore", "SafeTensors"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "SafeTensors", "TestSupport"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "TensorCore", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "SafeTensors", "TensorCore", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "SchedulersTests", dependencies: ["Schedulers", "TestSupport"]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "TestSupport"]),
    ],
    cxxLanguageStandard: .cxx17
)
