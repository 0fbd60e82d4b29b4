import TensorCore

/// Every backend the op and model tests run on. The Vulkan backend joins
/// this list when it exists; a test loops over all of them.
public enum TestBackends {
    public static let cpu = CPUBackend(threads: 2)

    public static var all: [any Backend] { [cpu] }
}
