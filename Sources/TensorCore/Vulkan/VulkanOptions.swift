import Foundation

/// How to set up the Vulkan backend.
public struct VulkanOptions: Sendable {
    /// Physical device index (`--gpu-index`); nil takes the first discrete
    /// GPU, else integrated, else whatever there is.
    public var deviceIndex: Int?
    /// Weight storage dtype; nil: f16 where the device has 16-bit storage, else f32.
    public var weightDType: DType?
    /// Use VK_KHR_cooperative_matrix kernels where the device has them
    /// (SDGEN_VULKAN_COOPMAT=0 turns them off).
    public var cooperativeMatrix: Bool
    /// Use them where the extension is there but the device does not list
    /// the 16×16×16 f16 shape they are written in (SDGEN_VULKAN_COOPMAT=any):
    /// Mesa 26's lavapipe lists 8×8×8 yet runs any shape, which is how the
    /// matrix-unit kernels are tested without a GPU (scripts/vulkan/lavapipe-coopmat.sh).
    /// The start-up self-tests still decide whether they are used.
    public var cooperativeMatrixAnyShape: Bool
    /// Use subgroup reductions where the device has them (SDGEN_VULKAN_SUBGROUPS=0 turns them off).
    public var subgroups: Bool
    /// The most bytes one kernel binding may span, below the device's
    /// storage-buffer range: tests set it small so CI (lavapipe: 128 MiB)
    /// exercises the windows large tensors are split into. nil: the device's range.
    public var maxBindingBytes: Int?
    /// Split the K of products with fewer output tiles than this many
    /// workgroups over several (0: never; SDGEN_VULKAN_SPLITK sets it). Off by
    /// default until measured on a GPU: the H200's profile shows SD's 8×8 and
    /// 16×16 levels and BERT at 128 tokens starving its 132 multiprocessors.
    public var splitKTarget: Int
    /// Run matrix products on the first cooperative-matrix kernel and
    /// attention on the portable one (SDGEN_VULKAN_GEMM=legacy): the kernels
    /// of the first GPU measurement, to measure the current ones against.
    public var legacyMatrixKernel: Bool

    public init(deviceIndex: Int? = nil, weightDType: DType? = nil,
                cooperativeMatrix: Bool? = nil, subgroups: Bool? = nil) {
        let environment = ProcessInfo.processInfo.environment
        self.deviceIndex = deviceIndex
        self.weightDType = weightDType
        self.cooperativeMatrix = cooperativeMatrix ?? (environment["SDGEN_VULKAN_COOPMAT"] != "0")
        cooperativeMatrixAnyShape = environment["SDGEN_VULKAN_COOPMAT"] == "any"
        self.subgroups = subgroups ?? (environment["SDGEN_VULKAN_SUBGROUPS"] != "0")
        maxBindingBytes = nil
        legacyMatrixKernel = environment["SDGEN_VULKAN_GEMM"] == "legacy"
        splitKTarget = environment["SDGEN_VULKAN_SPLITK"].flatMap { Int($0) }.map { max(0, $0) } ?? 0
    }
}
