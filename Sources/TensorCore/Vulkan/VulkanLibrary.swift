import CVulkan
import Foundation

/// The Vulkan loader, opened with dlopen so that sdgen starts (and can say
/// what is missing) on machines without libvulkan. Every other entry point is
/// fetched through vkGetInstanceProcAddr / vkGetDeviceProcAddr.
final class VulkanLibrary: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    let getInstanceProcAddr: PFN_vkGetInstanceProcAddr
    let createInstance: PFN_vkCreateInstance
    let enumerateInstanceExtensionProperties: PFN_vkEnumerateInstanceExtensionProperties
    let enumerateInstanceVersion: PFN_vkEnumerateInstanceVersion?

    /// The process-wide loader (opened once).
    static func shared() throws -> VulkanLibrary {
        try cache.withLock { state in
            if let library = state.library { return library }
            if let error = state.error { throw error }
            do {
                let library = try VulkanLibrary()
                state.library = library
                return library
            } catch {
                state.error = error
                throw error
            }
        }
    }

    private struct CacheState { var library: VulkanLibrary?; var error: Error? }
    private static let cache = Locked(CacheState())

    private init() throws {
        var opened: UnsafeMutableRawPointer?
        var lastError = ""
        // SDGEN_VULKAN_LIBRARY names another loader (or a missing one, to test the error path).
        let names = ProcessInfo.processInfo.environment["SDGEN_VULKAN_LIBRARY"].map { [$0] }
            ?? ["libvulkan.so.1", "libvulkan.so"]
        for name in names {
            opened = dlopen(name, RTLD_NOW | RTLD_LOCAL)
            if opened != nil { break }
            lastError = String(cString: dlerror())
        }
        guard let opened else { throw VulkanError.loaderMissing(lastError) }
        handle = opened
        guard let symbol = dlsym(opened, "vkGetInstanceProcAddr") else {
            throw VulkanError.loaderMissing("libvulkan has no vkGetInstanceProcAddr")
        }
        let gipa = unsafeBitCast(symbol, to: PFN_vkGetInstanceProcAddr.self)
        getInstanceProcAddr = gipa
        func global<T>(_ name: String, _: T.Type) throws -> T {
            guard let f = gipa(nil, name) else { throw VulkanError.missingFunction(name) }
            return unsafeBitCast(f, to: T.self)
        }
        createInstance = try global("vkCreateInstance", PFN_vkCreateInstance.self)
        enumerateInstanceExtensionProperties = try global("vkEnumerateInstanceExtensionProperties",
                                                          PFN_vkEnumerateInstanceExtensionProperties.self)
        enumerateInstanceVersion = try? global("vkEnumerateInstanceVersion", PFN_vkEnumerateInstanceVersion.self)
    }
}

/// Instance-level entry points.
struct InstanceFunctions: @unchecked Sendable {
    let destroyInstance: PFN_vkDestroyInstance
    let enumeratePhysicalDevices: PFN_vkEnumeratePhysicalDevices
    let getPhysicalDeviceProperties: PFN_vkGetPhysicalDeviceProperties
    let getPhysicalDeviceProperties2: PFN_vkGetPhysicalDeviceProperties2
    let getPhysicalDeviceFeatures2: PFN_vkGetPhysicalDeviceFeatures2
    let getPhysicalDeviceMemoryProperties: PFN_vkGetPhysicalDeviceMemoryProperties
    let getPhysicalDeviceQueueFamilyProperties: PFN_vkGetPhysicalDeviceQueueFamilyProperties
    let enumerateDeviceExtensionProperties: PFN_vkEnumerateDeviceExtensionProperties
    let createDevice: PFN_vkCreateDevice
    let getDeviceProcAddr: PFN_vkGetDeviceProcAddr
    let getCooperativeMatrixProperties: PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR?

    init(library: VulkanLibrary, instance: VkInstance) throws {
        func f<T>(_ name: String, _: T.Type) throws -> T {
            guard let p = library.getInstanceProcAddr(instance, name) else { throw VulkanError.missingFunction(name) }
            return unsafeBitCast(p, to: T.self)
        }
        destroyInstance = try f("vkDestroyInstance", PFN_vkDestroyInstance.self)
        enumeratePhysicalDevices = try f("vkEnumeratePhysicalDevices", PFN_vkEnumeratePhysicalDevices.self)
        getPhysicalDeviceProperties = try f("vkGetPhysicalDeviceProperties", PFN_vkGetPhysicalDeviceProperties.self)
        getPhysicalDeviceProperties2 = try f("vkGetPhysicalDeviceProperties2", PFN_vkGetPhysicalDeviceProperties2.self)
        getPhysicalDeviceFeatures2 = try f("vkGetPhysicalDeviceFeatures2", PFN_vkGetPhysicalDeviceFeatures2.self)
        getPhysicalDeviceMemoryProperties = try f("vkGetPhysicalDeviceMemoryProperties",
                                                  PFN_vkGetPhysicalDeviceMemoryProperties.self)
        getPhysicalDeviceQueueFamilyProperties = try f("vkGetPhysicalDeviceQueueFamilyProperties",
                                                       PFN_vkGetPhysicalDeviceQueueFamilyProperties.self)
        enumerateDeviceExtensionProperties = try f("vkEnumerateDeviceExtensionProperties",
                                                   PFN_vkEnumerateDeviceExtensionProperties.self)
        createDevice = try f("vkCreateDevice", PFN_vkCreateDevice.self)
        getDeviceProcAddr = try f("vkGetDeviceProcAddr", PFN_vkGetDeviceProcAddr.self)
        getCooperativeMatrixProperties = try? f("vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR",
                                                PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR.self)
    }
}

/// Device-level entry points, fetched from the device to skip the loader's
/// dispatch on every command.
struct DeviceFunctions: @unchecked Sendable {
    let destroyDevice: PFN_vkDestroyDevice
    let getDeviceQueue: PFN_vkGetDeviceQueue
    let deviceWaitIdle: PFN_vkDeviceWaitIdle
    let createBuffer: PFN_vkCreateBuffer
    let destroyBuffer: PFN_vkDestroyBuffer
    let getBufferMemoryRequirements: PFN_vkGetBufferMemoryRequirements
    let allocateMemory: PFN_vkAllocateMemory
    let freeMemory: PFN_vkFreeMemory
    let bindBufferMemory: PFN_vkBindBufferMemory
    let mapMemory: PFN_vkMapMemory
    let unmapMemory: PFN_vkUnmapMemory
    let invalidateMappedMemoryRanges: PFN_vkInvalidateMappedMemoryRanges
    let flushMappedMemoryRanges: PFN_vkFlushMappedMemoryRanges
    let createShaderModule: PFN_vkCreateShaderModule
    let destroyShaderModule: PFN_vkDestroyShaderModule
    let createDescriptorSetLayout: PFN_vkCreateDescriptorSetLayout
    let destroyDescriptorSetLayout: PFN_vkDestroyDescriptorSetLayout
    let createPipelineLayout: PFN_vkCreatePipelineLayout
    let destroyPipelineLayout: PFN_vkDestroyPipelineLayout
    let createComputePipelines: PFN_vkCreateComputePipelines
    let destroyPipeline: PFN_vkDestroyPipeline
    let createDescriptorPool: PFN_vkCreateDescriptorPool
    let destroyDescriptorPool: PFN_vkDestroyDescriptorPool
    let resetDescriptorPool: PFN_vkResetDescriptorPool
    let allocateDescriptorSets: PFN_vkAllocateDescriptorSets
    let updateDescriptorSets: PFN_vkUpdateDescriptorSets
    let createCommandPool: PFN_vkCreateCommandPool
    let destroyCommandPool: PFN_vkDestroyCommandPool
    let allocateCommandBuffers: PFN_vkAllocateCommandBuffers
    let resetCommandBuffer: PFN_vkResetCommandBuffer
    let beginCommandBuffer: PFN_vkBeginCommandBuffer
    let endCommandBuffer: PFN_vkEndCommandBuffer
    let cmdBindPipeline: PFN_vkCmdBindPipeline
    let cmdBindDescriptorSets: PFN_vkCmdBindDescriptorSets
    let cmdPushConstants: PFN_vkCmdPushConstants
    let cmdDispatch: PFN_vkCmdDispatch
    let cmdPipelineBarrier: PFN_vkCmdPipelineBarrier
    let cmdCopyBuffer: PFN_vkCmdCopyBuffer
    let cmdFillBuffer: PFN_vkCmdFillBuffer
    let queueSubmit: PFN_vkQueueSubmit
    let createFence: PFN_vkCreateFence
    let destroyFence: PFN_vkDestroyFence
    let waitForFences: PFN_vkWaitForFences
    let resetFences: PFN_vkResetFences
    let getFenceStatus: PFN_vkGetFenceStatus
    let createQueryPool: PFN_vkCreateQueryPool
    let destroyQueryPool: PFN_vkDestroyQueryPool
    let cmdResetQueryPool: PFN_vkCmdResetQueryPool
    let cmdWriteTimestamp: PFN_vkCmdWriteTimestamp
    let getQueryPoolResults: PFN_vkGetQueryPoolResults

    init(instance: InstanceFunctions, device: VkDevice) throws {
        func f<T>(_ name: String, _: T.Type) throws -> T {
            guard let p = instance.getDeviceProcAddr(device, name) else { throw VulkanError.missingFunction(name) }
            return unsafeBitCast(p, to: T.self)
        }
        destroyDevice = try f("vkDestroyDevice", PFN_vkDestroyDevice.self)
        getDeviceQueue = try f("vkGetDeviceQueue", PFN_vkGetDeviceQueue.self)
        deviceWaitIdle = try f("vkDeviceWaitIdle", PFN_vkDeviceWaitIdle.self)
        createBuffer = try f("vkCreateBuffer", PFN_vkCreateBuffer.self)
        destroyBuffer = try f("vkDestroyBuffer", PFN_vkDestroyBuffer.self)
        getBufferMemoryRequirements = try f("vkGetBufferMemoryRequirements", PFN_vkGetBufferMemoryRequirements.self)
        allocateMemory = try f("vkAllocateMemory", PFN_vkAllocateMemory.self)
        freeMemory = try f("vkFreeMemory", PFN_vkFreeMemory.self)
        bindBufferMemory = try f("vkBindBufferMemory", PFN_vkBindBufferMemory.self)
        mapMemory = try f("vkMapMemory", PFN_vkMapMemory.self)
        unmapMemory = try f("vkUnmapMemory", PFN_vkUnmapMemory.self)
        invalidateMappedMemoryRanges = try f("vkInvalidateMappedMemoryRanges", PFN_vkInvalidateMappedMemoryRanges.self)
        flushMappedMemoryRanges = try f("vkFlushMappedMemoryRanges", PFN_vkFlushMappedMemoryRanges.self)
        createShaderModule = try f("vkCreateShaderModule", PFN_vkCreateShaderModule.self)
        destroyShaderModule = try f("vkDestroyShaderModule", PFN_vkDestroyShaderModule.self)
        createDescriptorSetLayout = try f("vkCreateDescriptorSetLayout", PFN_vkCreateDescriptorSetLayout.self)
        destroyDescriptorSetLayout = try f("vkDestroyDescriptorSetLayout", PFN_vkDestroyDescriptorSetLayout.self)
        createPipelineLayout = try f("vkCreatePipelineLayout", PFN_vkCreatePipelineLayout.self)
        destroyPipelineLayout = try f("vkDestroyPipelineLayout", PFN_vkDestroyPipelineLayout.self)
        createComputePipelines = try f("vkCreateComputePipelines", PFN_vkCreateComputePipelines.self)
        destroyPipeline = try f("vkDestroyPipeline", PFN_vkDestroyPipeline.self)
        createDescriptorPool = try f("vkCreateDescriptorPool", PFN_vkCreateDescriptorPool.self)
        destroyDescriptorPool = try f("vkDestroyDescriptorPool", PFN_vkDestroyDescriptorPool.self)
        resetDescriptorPool = try f("vkResetDescriptorPool", PFN_vkResetDescriptorPool.self)
        allocateDescriptorSets = try f("vkAllocateDescriptorSets", PFN_vkAllocateDescriptorSets.self)
        updateDescriptorSets = try f("vkUpdateDescriptorSets", PFN_vkUpdateDescriptorSets.self)
        createCommandPool = try f("vkCreateCommandPool", PFN_vkCreateCommandPool.self)
        destroyCommandPool = try f("vkDestroyCommandPool", PFN_vkDestroyCommandPool.self)
        allocateCommandBuffers = try f("vkAllocateCommandBuffers", PFN_vkAllocateCommandBuffers.self)
        resetCommandBuffer = try f("vkResetCommandBuffer", PFN_vkResetCommandBuffer.self)
        beginCommandBuffer = try f("vkBeginCommandBuffer", PFN_vkBeginCommandBuffer.self)
        endCommandBuffer = try f("vkEndCommandBuffer", PFN_vkEndCommandBuffer.self)
        cmdBindPipeline = try f("vkCmdBindPipeline", PFN_vkCmdBindPipeline.self)
        cmdBindDescriptorSets = try f("vkCmdBindDescriptorSets", PFN_vkCmdBindDescriptorSets.self)
        cmdPushConstants = try f("vkCmdPushConstants", PFN_vkCmdPushConstants.self)
        cmdDispatch = try f("vkCmdDispatch", PFN_vkCmdDispatch.self)
        cmdPipelineBarrier = try f("vkCmdPipelineBarrier", PFN_vkCmdPipelineBarrier.self)
        cmdCopyBuffer = try f("vkCmdCopyBuffer", PFN_vkCmdCopyBuffer.self)
        cmdFillBuffer = try f("vkCmdFillBuffer", PFN_vkCmdFillBuffer.self)
        queueSubmit = try f("vkQueueSubmit", PFN_vkQueueSubmit.self)
        createFence = try f("vkCreateFence", PFN_vkCreateFence.self)
        destroyFence = try f("vkDestroyFence", PFN_vkDestroyFence.self)
        waitForFences = try f("vkWaitForFences", PFN_vkWaitForFences.self)
        resetFences = try f("vkResetFences", PFN_vkResetFences.self)
        getFenceStatus = try f("vkGetFenceStatus", PFN_vkGetFenceStatus.self)
        createQueryPool = try f("vkCreateQueryPool", PFN_vkCreateQueryPool.self)
        destroyQueryPool = try f("vkDestroyQueryPool", PFN_vkDestroyQueryPool.self)
        cmdResetQueryPool = try f("vkCmdResetQueryPool", PFN_vkCmdResetQueryPool.self)
        cmdWriteTimestamp = try f("vkCmdWriteTimestamp", PFN_vkCmdWriteTimestamp.self)
        getQueryPoolResults = try f("vkGetQueryPoolResults", PFN_vkGetQueryPoolResults.self)
    }
}

/// A value behind a lock (NSLock: available on every platform we build for).
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    @discardableResult
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
