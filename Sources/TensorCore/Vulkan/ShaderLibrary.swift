import CVulkan
import Foundation

/// The SPIR-V of every kernel variant (compiled from Shaders/*.comp by
/// scripts/vulkan/compile_shaders.py into Generated/ShaderBlobs.swift) and
/// the shader modules made from them, one per variant, created on first use.
final class ShaderLibrary: @unchecked Sendable {
    private let device: VulkanDevice
    private let modules = Locked([String: VkShaderModule]())

    init(device: VulkanDevice) { self.device = device }

    static var variantNames: [String] { ShaderBlobs.variants.keys.sorted() }

    static func bindings(of variant: String) -> Int {
        guard let entry = ShaderBlobs.variants[variant] else { preconditionFailure("no shader variant \(variant)") }
        return entry.bindings
    }

    static func spirv(of variant: String) -> [UInt32] {
        guard let entry = ShaderBlobs.variants[variant], let data = Data(base64Encoded: entry.spirv) else {
            preconditionFailure("no shader variant \(variant)")
        }
        return data.withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
    }

    func module(_ variant: String) throws -> VkShaderModule {
        if let existing = modules.withLock({ $0[variant] }) { return existing }
        let code = Self.spirv(of: variant)
        var created: VkShaderModule?
        let result = code.withUnsafeBufferPointer { words in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = words.count * 4
            info.pCode = words.baseAddress
            return device.f.createShaderModule(device.device, &info, nil, &created)
        }
        try check(result, "vkCreateShaderModule (\(variant))")
        return modules.withLock { state in
            if let raced = state[variant] {
                device.f.destroyShaderModule(device.device, created, nil)
                return raced
            }
            state[variant] = created!
            return created!
        }
    }

    func destroyAll() {
        modules.withLock { state in
            for module in state.values { device.f.destroyShaderModule(device.device, module, nil) }
            state.removeAll()
        }
    }
}

/// What sdgen ships of its kernels, for tests and diagnostics.
public enum VulkanShaders {
    /// The generator's hash of the shader sources the SPIR-V was built from.
    public static var sourceHash: UInt64 { ShaderBlobs.sourceHash }
    public static var variantNames: [String] { ShaderLibrary.variantNames }
    public static func spirv(of variant: String) -> [UInt32] { ShaderLibrary.spirv(of: variant) }
    public static func bindings(of variant: String) -> Int { ShaderLibrary.bindings(of: variant) }
}
