import Foundation
import TensorCore
import XCTest

/// The committed SPIR-V (Generated/ShaderBlobs.swift) must come from the
/// committed shader sources: re-run scripts/vulkan/compile_shaders.py after
/// editing a shader. The hash is the generator's (FNV-1a 64 over each source
/// file's name and bytes, then the script).
final class ShaderFreshnessTests: XCTestCase {
    func testCompiledShadersMatchSources() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shaders = root.appendingPathComponent("Sources/TensorCore/Vulkan/Shaders")
        let names = try FileManager.default.contentsOfDirectory(atPath: shaders.path)
            .filter { $0.hasSuffix(".comp") || $0.hasSuffix(".glsl") }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var files = names.map { ("Shaders/\($0)", shaders.appendingPathComponent($0)) }
        files.append(("scripts/vulkan/compile_shaders.py", root.appendingPathComponent("scripts/vulkan/compile_shaders.py")))
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) {
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        }
        for (name, url) in files {
            let text = try Data(contentsOf: url)
            mix(Array(name.utf8)); mix([0])
            mix(Array(text)); mix([0])
        }
        XCTAssertEqual(String(hash, radix: 16), String(VulkanShaders.sourceHash, radix: 16),
                       "shader sources changed: run python3 scripts/vulkan/compile_shaders.py and commit the result")
    }

    func testEveryVariantIsValidSPIRV() {
        for name in VulkanShaders.variantNames {
            let words = VulkanShaders.spirv(of: name)
            XCTAssertEqual(words.first, 0x0723_0203, "\(name): not SPIR-V")
            XCTAssertGreaterThan(VulkanShaders.bindings(of: name), 0, name)
        }
    }
}
