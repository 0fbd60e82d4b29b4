import CVulkan
import Foundation

/// A logical device with one compute queue, the memory types sdgen uses and
/// helpers to make buffers. One per backend.
final class VulkanDevice: @unchecked Sendable {
    let instance: VulkanInstance
    let info: PhysicalDeviceInfo
    let physicalDevice: VkPhysicalDevice
    let device: VkDevice
    let queue: VkQueue
    let queueFamily: UInt32
    /// Bits of a timestamp the queue writes (0: no timestamps), and nanoseconds per tick.
    let timestampBits: UInt32
    let timestampPeriod: Double
    let f: DeviceFunctions
    /// Whether 16-bit storage was enabled (shaders with f16 buffers may run).
    let halfStorage: Bool
    /// Whether VK_KHR_cooperative_matrix was enabled.
    let cooperativeMatrix: Bool
    /// Memory type for tensors (device-local where there is one).
    let deviceMemoryType: UInt32
    /// Memory type for staging (host-visible, coherent).
    let hostMemoryType: UInt32
    /// Memory type for read-back (host-visible, coherent, cached if possible).
    let readbackMemoryType: UInt32
    /// Size of the heap tensors are allocated from.
    let deviceHeapBytes: Int

    /// `anyShape`: see `VulkanOptions.cooperativeMatrixAnyShape`.
    init(instance: VulkanInstance, index: Int, enableHalfStorage: Bool, enableCooperativeMatrix: Bool,
         anyShape: Bool = false) throws {
        self.instance = instance
        let info = instance.devices[index]
        self.info = info
        let physical = instance.physicalDevices[index]
        physicalDevice = physical
        let fi = instance.functions

        var familyCount: UInt32 = 0
        fi.getPhysicalDeviceQueueFamilyProperties(physical, &familyCount, nil)
        var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(familyCount))
        fi.getPhysicalDeviceQueueFamilyProperties(physical, &familyCount, &families)
        // Prefer a compute queue without graphics (async compute), else any with compute.
        let compute = VK_QUEUE_COMPUTE_BIT.rawValue, graphics = VK_QUEUE_GRAPHICS_BIT.rawValue
        let candidates = families.prefix(Int(familyCount)).enumerated().filter { $0.element.queueFlags & compute != 0 }
        guard let family = candidates.first(where: { $0.element.queueFlags & graphics == 0 }) ?? candidates.first else {
            throw VulkanError.unsupported("\(info.name) has no compute queue")
        }
        queueFamily = UInt32(family.offset)
        timestampBits = family.element.timestampValidBits
        timestampPeriod = Double(info.timestampPeriod)

        halfStorage = enableHalfStorage && info.storageBuffer16BitAccess
        let shapes = info.supportsCooperativeMatrix
            || (anyShape && info.cooperativeMatrixExtension && !info.cooperativeMatrixShapes.isEmpty)
        cooperativeMatrix = enableCooperativeMatrix && shapes && info.shaderFloat16
            && info.apiVersionRaw >= (1 << 22 | 3 << 12) && instance.apiVersion >= (1 << 22 | 3 << 12)

        var storage16 = VkPhysicalDevice16BitStorageFeatures()
        storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES
        storage16.storageBuffer16BitAccess = halfStorage ? 1 : 0
        var float16 = VkPhysicalDeviceShaderFloat16Int8Features()
        float16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES
        float16.shaderFloat16 = cooperativeMatrix ? 1 : 0
        var coopmat = VkPhysicalDeviceCooperativeMatrixFeaturesKHR()
        coopmat.sType = sdgen_coopmat_features_stype()
        coopmat.cooperativeMatrix = 1
        // The cooperative-matrix SPIR-V uses the Vulkan memory model (core in 1.2).
        var memoryModel = VkPhysicalDeviceVulkanMemoryModelFeatures()
        memoryModel.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES
        memoryModel.vulkanMemoryModel = 1

        var priority: Float = 1
        let extensionNames = cooperativeMatrix ? ["VK_KHR_cooperative_matrix"] : []
        let cStrings = extensionNames.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var extensionPointers = cStrings.map { UnsafePointer($0) }
        var created: VkDevice?
        let useCoopmat = cooperativeMatrix
        let result = withUnsafeMutablePointer(to: &storage16) { s16 in
            withUnsafeMutablePointer(to: &float16) { f16 in
                withUnsafeMutablePointer(to: &coopmat) { cm in
                  withUnsafeMutablePointer(to: &memoryModel) { mm in
                    withUnsafeMutablePointer(to: &priority) { priorityPointer in
                        extensionPointers.withUnsafeMutableBufferPointer { exts in
                            s16.pointee.pNext = UnsafeMutableRawPointer(f16)
                            f16.pointee.pNext = useCoopmat ? UnsafeMutableRawPointer(cm) : nil
                            cm.pointee.pNext = UnsafeMutableRawPointer(mm)
                            var queueInfo = VkDeviceQueueCreateInfo()
                            queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
                            queueInfo.queueFamilyIndex = UInt32(family.offset)
                            queueInfo.queueCount = 1
                            queueInfo.pQueuePriorities = UnsafePointer(priorityPointer)
                            return withUnsafePointer(to: &queueInfo) { queuePointer in
                                var deviceInfo = VkDeviceCreateInfo()
                                deviceInfo.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                                deviceInfo.pNext = UnsafeRawPointer(s16)
                                deviceInfo.queueCreateInfoCount = 1
                                deviceInfo.pQueueCreateInfos = queuePointer
                                deviceInfo.enabledExtensionCount = UInt32(exts.count)
                                deviceInfo.ppEnabledExtensionNames = UnsafePointer(exts.baseAddress)
                                return fi.createDevice(physical, &deviceInfo, nil, &created)
                            }
                        }
                    }
                  }
                }
            }
        }
        try check(result, "vkCreateDevice on \(info.name)")
        guard let created else { throw VulkanError.call("vkCreateDevice", VK_ERROR_INITIALIZATION_FAILED) }
        device = created
        f = try DeviceFunctions(instance: fi, device: created)
        var q: VkQueue?
        f.getDeviceQueue(created, UInt32(family.offset), 0, &q)
        guard let q else { throw VulkanError.unsupported("no queue returned") }
        queue = q

        var memory = VkPhysicalDeviceMemoryProperties()
        fi.getPhysicalDeviceMemoryProperties(physical, &memory)
        let types = withUnsafeBytes(of: memory.memoryTypes) { raw in
            Array(raw.bindMemory(to: VkMemoryType.self).prefix(Int(memory.memoryTypeCount)))
        }
        func find(_ required: UInt32, preferring preferred: UInt32 = 0) -> UInt32? {
            if let i = types.firstIndex(where: { $0.propertyFlags & (required | preferred) == required | preferred }) {
                return UInt32(i)
            }
            return types.firstIndex(where: { $0.propertyFlags & required == required }).map(UInt32.init)
        }
        let deviceLocal = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue
        let visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        guard let deviceType = find(deviceLocal) ?? find(0),
              let hostType = find(visible),
              let readbackType = find(visible, preferring: VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue) else {
            throw VulkanError.unsupported("no host-visible coherent memory type")
        }
        deviceMemoryType = deviceType
        let heaps = withUnsafeBytes(of: memory.memoryHeaps) { raw in
            Array(raw.bindMemory(to: VkMemoryHeap.self).prefix(Int(memory.memoryHeapCount)))
        }
        deviceHeapBytes = Int(clamping: heaps[Int(types[Int(deviceType)].heapIndex)].size)
        hostMemoryType = hostType
        readbackMemoryType = readbackType
    }

    deinit {
        _ = f.deviceWaitIdle(device)
        f.destroyDevice(device, nil)
    }

    /// A buffer with its own memory. `host` memory is mapped persistently.
    func makeBuffer(bytes: Int, memoryType: UInt32, mapped: Bool) throws -> RawBuffer {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = VkDeviceSize(max(bytes, 16))
        info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
            | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffer: VkBuffer?
        try check(f.createBuffer(device, &info, nil, &buffer), "vkCreateBuffer (\(bytes) bytes)")
        var requirements = VkMemoryRequirements()
        f.getBufferMemoryRequirements(device, buffer, &requirements)
        guard requirements.memoryTypeBits & (1 << memoryType) != 0 else {
            f.destroyBuffer(device, buffer, nil)
            throw VulkanError.unsupported("buffers cannot live in memory type \(memoryType)")
        }
        var allocation = VkMemoryAllocateInfo()
        allocation.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        allocation.allocationSize = requirements.size
        allocation.memoryTypeIndex = memoryType
        var memory: VkDeviceMemory?
        let result = f.allocateMemory(device, &allocation, nil, &memory)
        if result != VK_SUCCESS {
            f.destroyBuffer(device, buffer, nil)
            throw VulkanError.call("vkAllocateMemory (\(bytes) bytes)", result)
        }
        try check(f.bindBufferMemory(device, buffer, memory, 0), "vkBindBufferMemory")
        var pointer: UnsafeMutableRawPointer?
        if mapped {
            try check(f.mapMemory(device, memory, 0, VkDeviceSize(VK_WHOLE_SIZE), 0, &pointer), "vkMapMemory")
        }
        return RawBuffer(buffer: buffer!, memory: memory!, bytes: Int(info.size), mapped: pointer)
    }

    func destroy(_ raw: RawBuffer) {
        if raw.mapped != nil { f.unmapMemory(device, raw.memory) }
        f.destroyBuffer(device, raw.buffer, nil)
        f.freeMemory(device, raw.memory, nil)
    }
}

/// A VkBuffer bound to its own VkDeviceMemory.
struct RawBuffer: @unchecked Sendable {
    let buffer: VkBuffer
    let memory: VkDeviceMemory
    let bytes: Int
    let mapped: UnsafeMutableRawPointer?
}
