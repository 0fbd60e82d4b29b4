import CVulkan

/// One compute pipeline: a shader variant with its specialization constants,
/// a descriptor set layout of N storage buffers and a 128-byte push-constant
/// range (every kernel's parameters fit the guaranteed minimum).
final class ComputePipeline: @unchecked Sendable {
    let name: String
    let bindings: Int
    let pipeline: VkPipeline
    let layout: VkPipelineLayout
    let setLayout: VkDescriptorSetLayout

    static let pushConstantBytes = 128

    fileprivate init(device: VulkanDevice, shaders: ShaderLibrary, variant: String,
                     specialization: [UInt32]) throws {
        name = variant
        bindings = ShaderLibrary.bindings(of: variant)
        let f = device.f, d = device.device
        var layoutBindings = (0..<bindings).map { i -> VkDescriptorSetLayoutBinding in
            var b = VkDescriptorSetLayoutBinding()
            b.binding = UInt32(i)
            b.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            b.descriptorCount = 1
            b.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
            return b
        }
        var createdSetLayout: VkDescriptorSetLayout?
        try layoutBindings.withUnsafeMutableBufferPointer { list in
            var info = VkDescriptorSetLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
            info.bindingCount = UInt32(list.count)
            info.pBindings = UnsafePointer(list.baseAddress)
            try check(f.createDescriptorSetLayout(d, &info, nil, &createdSetLayout), "vkCreateDescriptorSetLayout")
        }
        setLayout = createdSetLayout!

        var range = VkPushConstantRange()
        range.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
        range.offset = 0
        range.size = UInt32(Self.pushConstantBytes)
        var createdLayout: VkPipelineLayout?
        var setLayoutHandle: VkDescriptorSetLayout? = createdSetLayout
        try withUnsafePointer(to: &range) { rangePointer in
            try withUnsafePointer(to: &setLayoutHandle) { setPointer in
                var info = VkPipelineLayoutCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
                info.setLayoutCount = 1
                info.pSetLayouts = setPointer
                info.pushConstantRangeCount = 1
                info.pPushConstantRanges = rangePointer
                try check(f.createPipelineLayout(d, &info, nil, &createdLayout), "vkCreatePipelineLayout")
            }
        }
        layout = createdLayout!

        let module = try shaders.module(variant)
        var entries = specialization.indices.map { i -> VkSpecializationMapEntry in
            VkSpecializationMapEntry(constantID: UInt32(i), offset: UInt32(i * 4), size: 4)
        }
        var values = specialization
        let entryName = "main"
        var createdPipeline: VkPipeline?
        let result = entries.withUnsafeMutableBufferPointer { entryList in
            values.withUnsafeMutableBytes { data in
                entryName.withCString { namePointer in
                    var specInfo = VkSpecializationInfo()
                    specInfo.mapEntryCount = UInt32(entryList.count)
                    specInfo.pMapEntries = UnsafePointer(entryList.baseAddress)
                    specInfo.dataSize = data.count
                    specInfo.pData = UnsafeRawPointer(data.baseAddress)
                    return withUnsafePointer(to: &specInfo) { specPointer in
                        var stage = VkPipelineShaderStageCreateInfo()
                        stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
                        stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
                        stage.module = module
                        stage.pName = namePointer
                        stage.pSpecializationInfo = specialization.isEmpty ? nil : specPointer
                        var info = VkComputePipelineCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
                        info.stage = stage
                        info.layout = createdLayout
                        return f.createComputePipelines(d, nil, 1, &info, nil, &createdPipeline)
                    }
                }
            }
        }
        try check(result, "vkCreateComputePipelines (\(variant))")
        pipeline = createdPipeline!
    }

    func destroy(_ device: VulkanDevice) {
        device.f.destroyPipeline(device.device, pipeline, nil)
        device.f.destroyPipelineLayout(device.device, layout, nil)
        device.f.destroyDescriptorSetLayout(device.device, setLayout, nil)
    }
}

/// Pipelines by (variant, specialization), created once and kept.
final class PipelineCache: @unchecked Sendable {
    private struct Key: Hashable { let variant: String; let specialization: [UInt32] }
    private let device: VulkanDevice
    private let shaders: ShaderLibrary
    private let pipelines = Locked([Key: ComputePipeline]())

    init(device: VulkanDevice, shaders: ShaderLibrary) {
        self.device = device
        self.shaders = shaders
    }

    func pipeline(_ variant: String, specialization: [UInt32] = []) throws -> ComputePipeline {
        let key = Key(variant: variant, specialization: specialization)
        if let existing = pipelines.withLock({ $0[key] }) { return existing }
        let made = try ComputePipeline(device: device, shaders: shaders, variant: variant, specialization: specialization)
        return pipelines.withLock { state in
            if let raced = state[key] { made.destroy(device); return raced }
            state[key] = made
            return made
        }
    }

    /// Like `pipeline`, for kernels whose creation cannot fail on a working
    /// device (the SPIR-V ships with sdgen and was validated).
    func require(_ variant: String, specialization: [UInt32] = []) -> ComputePipeline {
        do { return try pipeline(variant, specialization: specialization) } catch {
            fatalError("Vulkan: cannot create the \(variant) kernel: \(error)")
        }
    }

    func destroyAll() {
        pipelines.withLock { state in
            for p in state.values { p.destroy(device) }
            state.removeAll()
        }
    }
}
