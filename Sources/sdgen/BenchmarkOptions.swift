import ArgumentParser
import Foundation
import Pipeline
import TensorCore

/// What `bench` and `bert-bench` share: the devices to compare, the backend
/// options, the peak measurement and the output format — and the loop that
/// runs a benchmark once per device.
struct BenchmarkOptions: ParsableArguments {
    @Option(help: "cpu, gpu or both (default: both when a Vulkan GPU exists, else cpu; lavapipe only with --device gpu).")
    var device: DeviceChoice?

    @OptionGroup var backendOptions: BackendOptions

    @Flag(help: "Measure each device's peak (CPU: its multiply-add rate; GPU: a large sgemm) and show the fraction reached.")
    var peak = false

    @Flag(help: "Time every op of one more step (GPU timestamps, one op at a time; the host clock on the CPU) and show where the time went.")
    var profile = false

    @Flag(help: "Print the results as JSON.")
    var json = false

    @Flag(help: "Print the table as Markdown.")
    var markdown = false

    var devices: [ComputeDevice] { (device ?? DeviceChoice.defaultChoice).devices }

    /// What the per-device loop learned about each device, by its name ("cpu", "gpu").
    struct Devices {
        var names: [String: String] = [:]
        var measuredPeaks: [String: PeakThroughput] = [:]
        /// The peaks in flop/s.
        var peaks: [String: Double] { measuredPeaks.mapValues(\.flopsPerSecond) }

        /// "CPU: <backend>, peak …" lines for the table's heading.
        func heading(_ devices: [ComputeDevice]) -> String {
            devices.map { device in
                let peakText = measuredPeaks[device.rawValue].map { ", \($0.summary)" } ?? ""
                return "\(device.rawValue.uppercased()): \(names[device.rawValue] ?? "")\(peakText)"
            }.joined(separator: "\n")
        }
    }

    /// Runs `body` once per device on a backend made for it (CPU-only
    /// options shape the CPU's column only), measuring the peak when asked.
    func forEachDevice(_ body: (ComputeDevice, any Backend) throws -> Void) throws -> Devices {
        var found = Devices()
        for device in devices {
            let settings = backendOptions.settings.applying(to: device)
            let backend = try settings.makeBackend(for: device)
            for note in BackendSettings.advisories(for: backend) {
                FileHandle.standardError.write(Data("warning: \(note)\n".utf8))
            }
            // Every number is reported with the machine it was measured on.
            found.names[device.rawValue] = backend.name + (device == .cpu ? " on \(CPUKernelSet.processorName)" : "")
            if peak { found.measuredPeaks[device.rawValue] = PeakThroughput.measure(on: backend) }
            try body(device, backend)
            if !json { Progress.clear() }
        }
        return found
    }

    /// Progress on the terminal, unless printing JSON.
    func progress(_ device: ComputeDevice, _ text: String) {
        if !json { Progress.line("\(device.rawValue.uppercased()): \(text)") }
    }

    func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}
