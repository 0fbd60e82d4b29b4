import ArgumentParser
import Pipeline

/// `--device cpu|gpu|both` for the benchmarks.
enum DeviceChoice: String, ExpressibleByArgument, CaseIterable {
    case cpu, gpu, both

    var devices: [ComputeDevice] {
        switch self {
        case .cpu: [.cpu]
        case .gpu: [.gpu]
        case .both: [.cpu, .gpu]
        }
    }

    /// Both devices when a Vulkan GPU exists, else the CPU alone (lavapipe,
    /// Mesa's CPU implementation of Vulkan, runs only when asked for).
    static var defaultChoice: DeviceChoice { ComputeDevice.hardwareGPUAvailable ? .both : .cpu }
}

/// A comma-separated list of positive integers, e.g. `--batch 1,4`.
struct IntegerList: ExpressibleByArgument {
    let values: [Int]

    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        values = parts.map { $0! }
    }
}
