import CVulkan
import Foundation

/// The process's Vulkan instance and its physical devices. Created once and
/// kept for the life of the process (devices created from it may come and go).
public final class VulkanInstance: @unchecked Sendable {
    let library: VulkanLibrary
    let instance: VkInstance
    let functions: InstanceFunctions
    let physicalDevices: [VkPhysicalDevice]
    /// The API version the instance was created with.
    let apiVersion: UInt32
    public let devices: [PhysicalDeviceInfo]

    /// The shared instance; throws a `VulkanError` with an install hint when
    /// there is no loader or no device.
    public static func shared() throws -> VulkanInstance {
        try cache.withLock { state in
            if let instance = state.instance { return instance }
            if let error = state.error { throw error }
            do {
                let instance = try VulkanInstance()
                state.instance = instance
                return instance
            } catch {
                state.error = error
                throw error
            }
        }
    }

    private struct CacheState { var instance: VulkanInstance?; var error: Error? }
    private static let cache = Locked(CacheState())

    private init() throws {
        let library = try VulkanLibrary.shared()
        self.library = library
        var version: UInt32 = 1 << 22   // 1.0
        if let enumerate = library.enumerateInstanceVersion { _ = enumerate(&version) }
        let v13: UInt32 = 1 << 22 | 3 << 12, v11: UInt32 = 1 << 22 | 1 << 12
        guard version >= v11 else {
            throw VulkanError.unsupported("the Vulkan loader is older than 1.1")
        }
        let apiVersion = min(version, v13)
        self.apiVersion = apiVersion

        // Portability enumeration lists MoltenVK-style devices too (harmless elsewhere).
        var extensionCount: UInt32 = 0
        _ = library.enumerateInstanceExtensionProperties(nil, &extensionCount, nil)
        var available = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(extensionCount))
        _ = library.enumerateInstanceExtensionProperties(nil, &extensionCount, &available)
        let names = Set(available.prefix(Int(extensionCount)).map { e in
            withUnsafeBytes(of: e.extensionName) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        })
        let portability = names.contains("VK_KHR_portability_enumeration")

        var created: VkInstance?
        let appName = strdup("sdgen"), portabilityName = strdup("VK_KHR_portability_enumeration")
        defer { free(appName); free(portabilityName) }
        var app = VkApplicationInfo()
        app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
        app.pApplicationName = UnsafePointer(appName)
        app.pEngineName = UnsafePointer(appName)
        app.apiVersion = apiVersion
        var extensionPointers: [UnsafePointer<CChar>?] = portability ? [UnsafePointer(portabilityName)] : []
        let result = withUnsafePointer(to: &app) { appPointer in
            extensionPointers.withUnsafeMutableBufferPointer { exts in
                var info = VkInstanceCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
                info.pApplicationInfo = appPointer
                info.enabledExtensionCount = UInt32(exts.count)
                info.ppEnabledExtensionNames = UnsafePointer(exts.baseAddress)
                if portability { info.flags = 0x0000_0001 }   // VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR
                return library.createInstance(&info, nil, &created)
            }
        }
        if result == VK_ERROR_INCOMPATIBLE_DRIVER { throw VulkanError.noDevice }
        try check(result, "vkCreateInstance")
        guard let created else { throw VulkanError.call("vkCreateInstance", VK_ERROR_INITIALIZATION_FAILED) }
        instance = created
        let functions = try InstanceFunctions(library: library, instance: created)
        self.functions = functions

        var count: UInt32 = 0
        try check(functions.enumeratePhysicalDevices(created, &count, nil), "vkEnumeratePhysicalDevices")
        var handles = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        try check(functions.enumeratePhysicalDevices(created, &count, &handles), "vkEnumeratePhysicalDevices")
        physicalDevices = handles.prefix(Int(count)).compactMap { $0 }
        devices = physicalDevices.enumerated().map {
            PhysicalDeviceInfo(index: $0.offset, physicalDevice: $0.element, functions: functions)
        }
        if devices.isEmpty {
            functions.destroyInstance(created, nil)
            throw VulkanError.noDevice
        }
    }

    /// The device `--device gpu` takes: the first discrete GPU, else the first
    /// integrated one, else anything (lavapipe, a CPU implementation).
    public func preferredDeviceIndex() -> Int {
        devices.min { ($0.kind.preference, $0.index) < ($1.kind.preference, $1.index) }!.index
    }
}
