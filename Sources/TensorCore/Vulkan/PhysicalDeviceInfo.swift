import CVulkan
import Foundation

/// What sdgen needs to know about one physical device: identity, memory,
/// and the features the kernels choose between (16-bit storage, subgroup
/// operations, cooperative matrices).
public struct PhysicalDeviceInfo: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case discrete = "discrete GPU", integrated = "integrated GPU", virtual = "virtual GPU",
             cpu = "CPU implementation", other = "other"

        /// Lower is preferred by `--device gpu`.
        var preference: Int {
            switch self {
            case .discrete: 0
            case .integrated: 1
            case .virtual: 2
            case .cpu: 3
            case .other: 4
            }
        }
    }

    public struct MemoryHeap: Sendable {
        public let bytes: UInt64
        public let deviceLocal: Bool
    }

    /// One (M, N, K) shape with f16 inputs and f32 accumulation at subgroup scope.
    public struct CooperativeMatrixShape: Sendable, Equatable {
        public let m: Int, n: Int, k: Int
    }

    public let index: Int
    public let name: String
    public let kind: Kind
    public let vendorID: UInt32
    public let apiVersion: String
    public let driverName: String
    public let driverInfo: String
    public let memoryHeaps: [MemoryHeap]
    public let subgroupSize: Int
    /// Subgroup arithmetic (subgroupAdd/subgroupMax) in compute shaders.
    public let subgroupArithmetic: Bool
    public let shaderFloat16: Bool
    public let storageBuffer16BitAccess: Bool
    public let cooperativeMatrixExtension: Bool
    /// f16×f16→f32 subgroup shapes the driver lists (empty without the extension).
    public let cooperativeMatrixShapes: [CooperativeMatrixShape]
    public let maxSharedMemoryBytes: Int
    public let maxStorageBufferRange: UInt64
    public let maxWorkgroupInvocations: Int
    public let maxWorkgroupCount: (Int, Int, Int)
    public let minStorageBufferOffsetAlignment: Int
    /// Nanoseconds per timestamp tick.
    public let timestampPeriod: Float
    let apiVersionRaw: UInt32

    public var deviceLocalBytes: UInt64 {
        memoryHeaps.filter(\.deviceLocal).map(\.bytes).max() ?? 0
    }

    /// Whether weights can be stored in f16 and read by the kernels.
    public var supportsHalfStorage: Bool { storageBuffer16BitAccess }

    public var supportsCooperativeMatrix: Bool {
        cooperativeMatrixExtension && cooperativeMatrixShapes.contains(.init(m: 16, n: 16, k: 16))
    }

    public var description: String { "\(name) (\(kind.rawValue), \(driverName))" }

    init(index: Int, physicalDevice: VkPhysicalDevice, functions f: InstanceFunctions) {
        self.index = index
        var properties = VkPhysicalDeviceProperties()
        f.getPhysicalDeviceProperties(physicalDevice, &properties)
        name = withUnsafeBytes(of: properties.deviceName) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        switch properties.deviceType {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: kind = .discrete
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: kind = .integrated
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: kind = .virtual
        case VK_PHYSICAL_DEVICE_TYPE_CPU: kind = .cpu
        default: kind = .other
        }
        vendorID = properties.vendorID
        apiVersionRaw = properties.apiVersion
        apiVersion = "\(properties.apiVersion >> 22).\((properties.apiVersion >> 12) & 0x3FF).\(properties.apiVersion & 0xFFF)"
        let limits = properties.limits
        maxSharedMemoryBytes = Int(limits.maxComputeSharedMemorySize)
        maxStorageBufferRange = UInt64(limits.maxStorageBufferRange)
        maxWorkgroupInvocations = Int(limits.maxComputeWorkGroupInvocations)
        maxWorkgroupCount = (Int(limits.maxComputeWorkGroupCount.0), Int(limits.maxComputeWorkGroupCount.1),
                             Int(limits.maxComputeWorkGroupCount.2))
        minStorageBufferOffsetAlignment = Int(limits.minStorageBufferOffsetAlignment)
        timestampPeriod = limits.timestampPeriod

        // Extensions.
        var extensionCount: UInt32 = 0
        _ = f.enumerateDeviceExtensionProperties(physicalDevice, nil, &extensionCount, nil)
        var extensions = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(extensionCount))
        _ = f.enumerateDeviceExtensionProperties(physicalDevice, nil, &extensionCount, &extensions)
        let extensionNames = Set(extensions.prefix(Int(extensionCount)).map { e in
            withUnsafeBytes(of: e.extensionName) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        })
        cooperativeMatrixExtension = extensionNames.contains("VK_KHR_cooperative_matrix")

        // Driver, subgroup properties.
        var driver = VkPhysicalDeviceDriverProperties()
        driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES
        var subgroup = VkPhysicalDeviceSubgroupProperties()
        subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES
        var properties2 = VkPhysicalDeviceProperties2()
        properties2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
        let hasDriverProperties = properties.apiVersion >= (1 << 22 | 2 << 12)
            || extensionNames.contains("VK_KHR_driver_properties")
        withUnsafeMutablePointer(to: &driver) { driverPointer in
            withUnsafeMutablePointer(to: &subgroup) { subgroupPointer in
                subgroupPointer.pointee.pNext = hasDriverProperties ? UnsafeMutableRawPointer(driverPointer) : nil
                properties2.pNext = UnsafeMutableRawPointer(subgroupPointer)
                f.getPhysicalDeviceProperties2(physicalDevice, &properties2)
            }
        }
        if hasDriverProperties {
            driverName = withUnsafeBytes(of: driver.driverName) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            driverInfo = withUnsafeBytes(of: driver.driverInfo) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        } else {
            driverName = "driver \(properties.driverVersion)"
            driverInfo = ""
        }
        subgroupSize = Int(subgroup.subgroupSize)
        let needed = VK_SUBGROUP_FEATURE_BASIC_BIT.rawValue | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT.rawValue
        subgroupArithmetic = (subgroup.supportedOperations & needed) == needed
            && (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT.rawValue) != 0

        // Features: 16-bit storage, f16 arithmetic, cooperative matrix.
        var storage16 = VkPhysicalDevice16BitStorageFeatures()
        storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES
        var float16 = VkPhysicalDeviceShaderFloat16Int8Features()
        float16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES
        var coopmat = VkPhysicalDeviceCooperativeMatrixFeaturesKHR()
        coopmat.sType = sdgen_coopmat_features_stype()
        var features2 = VkPhysicalDeviceFeatures2()
        features2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
        let hasCoopmat = cooperativeMatrixExtension
        withUnsafeMutablePointer(to: &storage16) { s16 in
            withUnsafeMutablePointer(to: &float16) { f16 in
                withUnsafeMutablePointer(to: &coopmat) { cm in
                    f16.pointee.pNext = hasCoopmat ? UnsafeMutableRawPointer(cm) : nil
                    s16.pointee.pNext = UnsafeMutableRawPointer(f16)
                    features2.pNext = UnsafeMutableRawPointer(s16)
                    f.getPhysicalDeviceFeatures2(physicalDevice, &features2)
                }
            }
        }
        storageBuffer16BitAccess = storage16.storageBuffer16BitAccess != 0
        shaderFloat16 = float16.shaderFloat16 != 0

        var shapes: [CooperativeMatrixShape] = []
        if hasCoopmat, coopmat.cooperativeMatrix != 0, let list = f.getCooperativeMatrixProperties {
            var count: UInt32 = 0
            if list(physicalDevice, &count, nil) == VK_SUCCESS, count > 0 {
                var template = VkCooperativeMatrixPropertiesKHR()
                template.sType = sdgen_coopmat_properties_stype()
                var all = [VkCooperativeMatrixPropertiesKHR](repeating: template, count: Int(count))
                if list(physicalDevice, &count, &all) == VK_SUCCESS {
                    for p in all.prefix(Int(count))
                    where p.AType == VK_COMPONENT_TYPE_FLOAT16_KHR && p.BType == VK_COMPONENT_TYPE_FLOAT16_KHR
                        && p.CType == VK_COMPONENT_TYPE_FLOAT32_KHR && p.ResultType == VK_COMPONENT_TYPE_FLOAT32_KHR
                        && p.scope == VK_SCOPE_SUBGROUP_KHR {
                        shapes.append(.init(m: Int(p.MSize), n: Int(p.NSize), k: Int(p.KSize)))
                    }
                }
            }
        }
        cooperativeMatrixShapes = shapes

        var memory = VkPhysicalDeviceMemoryProperties()
        f.getPhysicalDeviceMemoryProperties(physicalDevice, &memory)
        memoryHeaps = withUnsafeBytes(of: memory.memoryHeaps) { raw in
            let heaps = raw.bindMemory(to: VkMemoryHeap.self)
            return (0..<Int(memory.memoryHeapCount)).map {
                MemoryHeap(bytes: heaps[$0].size,
                           deviceLocal: heaps[$0].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue != 0)
            }
        }
    }

    /// A multi-line summary for `sdgen devices`.
    public var report: String {
        func gib(_ bytes: UInt64) -> String { String(format: "%.1f GiB", Double(bytes) / 1_073_741_824) }
        func mib(_ bytes: UInt64) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }
        let heaps = memoryHeaps.map { "\(gib($0.bytes))\($0.deviceLocal ? " device-local" : " host")" }
        let coop = cooperativeMatrixExtension
            ? (cooperativeMatrixShapes.isEmpty ? "extension present, no f16→f32 subgroup shape"
               : cooperativeMatrixShapes.map { "\($0.m)×\($0.n)×\($0.k)" }.joined(separator: ", "))
            : "no"
        return """
            [\(index)] \(name)
                type:                  \(kind.rawValue)
                driver:                \(driverName)\(driverInfo.isEmpty ? "" : " (\(driverInfo))"), Vulkan \(apiVersion)
                memory heaps:          \(heaps.joined(separator: ", "))
                subgroup size:         \(subgroupSize)\(subgroupArithmetic ? " (arithmetic ops)" : " (no arithmetic ops)")
                fp16 arithmetic:       \(shaderFloat16 ? "yes" : "no")
                16-bit storage:        \(storageBuffer16BitAccess ? "yes (weights stored in f16)" : "no (weights stored in f32)")
                cooperative matrix:    \(coop)
                limits:                storage buffer range \(mib(maxStorageBufferRange)), shared memory \(maxSharedMemoryBytes / 1024) KiB, \
            workgroup \(maxWorkgroupInvocations) invocations, \(maxWorkgroupCount.0)×\(maxWorkgroupCount.1)×\(maxWorkgroupCount.2) groups
            """
    }
}
