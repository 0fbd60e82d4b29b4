import ArgumentParser
import Foundation
import Models
import Pipeline
import TensorCore

struct BertBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bert-bench",
        abstract: "Time the BERT-base encoder at batch 1/4 × sequence 128/512 on the CPU and the GPU.",
        discussion: """
            The classic CPU-vs-GPU BERT inference comparison: bert-base-uncased's encoder on inputs of \
            [UNK] repeated to the sequence length, forward pass only, timed after warm-up. Random weights \
            of the real shape are synthesised (timing does not depend on values); --weights takes a \
            Hugging Face BERT folder instead.
            """)

    @Option(help: "Batch sizes, comma-separated.")
    var batch = IntegerList(argument: "1,4")!

    @Option(name: .customLong("seq"), help: "Sequence lengths, comma-separated.")
    var sequence = IntegerList(argument: "128,512")!

    @Option(help: "Timed runs per configuration (after 2 warm-up runs).")
    var runs = 50

    @OptionGroup var options: BenchmarkOptions

    @Option(help: "A Hugging Face BERT folder (model.safetensors, config.json) instead of random weights.")
    var weights: String?

    func validate() throws {
        guard runs > 0 else { throw ValidationError("--runs must be positive") }
    }

    func run() throws {
        var rows: [String: [BertBenchmark.Row]] = [:]
        let found = try options.forEachDevice { device, backend in
            // Weights as the backend keeps such a file's (f16 matrices stay f16 on the CPU).
            let benchmark = try weights.map {
                BertBenchmark(model: try BertModel(folder: URL(fileURLWithPath: $0), backend: backend, dtype: nil))
            } ?? BertBenchmark(randomWeightsOn: backend)
            let positions = benchmark.model.configuration.maxPositionEmbeddings
            for b in batch.values {
                for s in sequence.values {
                    guard s <= positions else {
                        throw ValidationError("sequence \(s) is longer than the model's \(positions) positions")
                    }
                    let row = try benchmark.run(device: device.rawValue, batch: b, length: s, runs: runs,
                                                profile: options.profile) { done in
                        options.progress(device, "batch \(b) seq \(s): run \(done)/\(runs)")
                    }
                    rows[device.rawValue, default: []].append(row)
                }
            }
        }
        let (devices, peaks, peak) = (options.devices, found.peaks, options.peak)
        if options.json {
            try options.printJSON(BertBenchReport(devices: found.names, peakGFLOPPerSecond: peaks.mapValues { $0 / 1e9 },
                                                  rows: devices.flatMap { rows[$0.rawValue] ?? [] }))
            return
        }

        print("BERT encoder (\(weights == nil ? "bert-base-uncased shape, random weights" : weights!)), " +
              "forward pass, inputs of [UNK], \(runs) runs after warm-up")
        print(found.heading(devices))
        var header = ["batch × seq"]
        for device in devices {
            let d = device.rawValue.uppercased()
            header += ["\(d) ms/it (median)", "\(d) min", "\(d) GFLOP/s"]
            if peak { header.append("\(d) % peak") }
        }
        if devices.count == 2 { header.append("GPU speedup") }
        var table = TextTable(header: header)
        for (i, row) in (rows[devices[0].rawValue] ?? []).enumerated() {
            var cells = ["\(row.batch) × \(row.length)"]
            for device in devices {
                guard let r = rows[device.rawValue]?[i] else { continue }
                cells += [String(format: "%.1f", r.timing.median), String(format: "%.1f", r.timing.minimum),
                          String(format: "%.1f", r.gflopPerSecond)]
                if peak, let p = peaks[device.rawValue] {
                    cells.append(String(format: "%.0f%%", 100 * r.gflopPerSecond * 1e9 / p))
                }
            }
            if devices.count == 2, let cpu = rows["cpu"]?[i], let gpu = rows["gpu"]?[i] {
                // As the classic comparison writes it: (cpu − gpu) / gpu.
                cells.append(String(format: "%.0f%%", 100 * (cpu.timing.median - gpu.timing.median) / gpu.timing.median))
            }
            table.append(cells)
        }
        print(table.render(markdown: options.markdown))
        for device in devices {
            for row in rows[device.rawValue] ?? [] {
                guard let commands = row.commands else { continue }
                print(ProfileReport.commands("\(device.rawValue.uppercased()) forward \(row.batch) × \(row.length)", commands))
            }
        }
        for device in devices {
            for row in rows[device.rawValue] ?? [] {
                guard let profile = row.profile else { continue }
                print("\n" + ProfileReport.render("\(device.rawValue.uppercased()): batch \(row.batch) × \(row.length)",
                                                  profile, markdown: options.markdown))
            }
        }
    }
}

struct BertBenchReport: Codable {
    let devices: [String: String]
    let peakGFLOPPerSecond: [String: Double]
    let rows: [BertBenchmark.Row]
}
