import CVulkan

/// Everything that can go wrong setting up or talking to Vulkan, each with a
/// one-line description a user can act on.
public enum VulkanError: Error, CustomStringConvertible, Sendable {
    /// libvulkan.so.1 could not be opened.
    case loaderMissing(String)
    /// The loader works but reports no physical device.
    case noDevice
    /// `--gpu-index` outside the enumerated devices.
    case badDeviceIndex(Int, available: Int)
    /// A device without what sdgen needs (a compute queue, a memory type).
    case unsupported(String)
    /// A Vulkan call returned an error code.
    case call(String, VkResult)
    /// An entry point the loader or driver did not provide.
    case missingFunction(String)

    static let installHint =
        "install a Vulkan driver: mesa-vulkan-drivers (lavapipe, a CPU implementation, or Mesa's AMD/Intel drivers) " +
        "or your GPU vendor's driver, and the loader libvulkan1"

    public var description: String {
        switch self {
        case let .loaderMissing(detail):
            "no Vulkan loader (\(detail)); \(Self.installHint)"
        case .noDevice:
            "Vulkan found no device; \(Self.installHint)"
        case let .badDeviceIndex(index, available):
            "--gpu-index \(index) is out of range: \(available) Vulkan device\(available == 1 ? "" : "s") (see `sdgen devices`)"
        case let .unsupported(detail):
            "the Vulkan device cannot run sdgen: \(detail)"
        case let .call(name, result):
            "\(name) failed: \(Self.name(of: result))"
        case let .missingFunction(name):
            "the Vulkan driver does not provide \(name)"
        }
    }

    static func name(of result: VkResult) -> String {
        switch result {
        case VK_NOT_READY: "VK_NOT_READY"
        case VK_TIMEOUT: "VK_TIMEOUT"
        case VK_INCOMPLETE: "VK_INCOMPLETE"
        case VK_ERROR_OUT_OF_HOST_MEMORY: "VK_ERROR_OUT_OF_HOST_MEMORY (host memory exhausted)"
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: "VK_ERROR_OUT_OF_DEVICE_MEMORY (GPU memory exhausted; try a smaller image or batch)"
        case VK_ERROR_INITIALIZATION_FAILED: "VK_ERROR_INITIALIZATION_FAILED"
        case VK_ERROR_DEVICE_LOST: "VK_ERROR_DEVICE_LOST (the GPU reset or the driver crashed)"
        case VK_ERROR_MEMORY_MAP_FAILED: "VK_ERROR_MEMORY_MAP_FAILED"
        case VK_ERROR_LAYER_NOT_PRESENT: "VK_ERROR_LAYER_NOT_PRESENT"
        case VK_ERROR_EXTENSION_NOT_PRESENT: "VK_ERROR_EXTENSION_NOT_PRESENT"
        case VK_ERROR_FEATURE_NOT_PRESENT: "VK_ERROR_FEATURE_NOT_PRESENT"
        case VK_ERROR_INCOMPATIBLE_DRIVER: "VK_ERROR_INCOMPATIBLE_DRIVER (no driver supports the requested Vulkan version)"
        case VK_ERROR_TOO_MANY_OBJECTS: "VK_ERROR_TOO_MANY_OBJECTS"
        case VK_ERROR_FORMAT_NOT_SUPPORTED: "VK_ERROR_FORMAT_NOT_SUPPORTED"
        case VK_ERROR_FRAGMENTED_POOL: "VK_ERROR_FRAGMENTED_POOL"
        case VK_ERROR_OUT_OF_POOL_MEMORY: "VK_ERROR_OUT_OF_POOL_MEMORY"
        case VK_ERROR_UNKNOWN: "VK_ERROR_UNKNOWN"
        default: "VkResult \(result.rawValue)"
        }
    }
}

/// Throws unless `result` is VK_SUCCESS.
@inline(__always)
func check(_ result: VkResult, _ name: @autoclosure () -> String) throws {
    if result != VK_SUCCESS { throw VulkanError.call(name(), result) }
}

/// For calls that cannot fail in a correct program once the device exists
/// (recording commands, submitting to a healthy queue): a failure here means
/// the device was lost, which no op can recover from.
@inline(__always)
func mustSucceed(_ result: VkResult, _ name: @autoclosure () -> String) {
    if result != VK_SUCCESS { fatalError("Vulkan: \(VulkanError.call(name(), result))") }
}
