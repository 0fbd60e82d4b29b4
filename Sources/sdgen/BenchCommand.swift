import ArgumentParser
import Foundation
import Pipeline

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time Stable Diffusion (UNet s/it, text encoder, VAE) on the CPU and the GPU.",
        discussion: """
            The model's architecture with random weights synthesised in memory (timing does not depend on \
            values), standing in for the fp16 files it is distributed as: the text encoder on the prompt batch, \
            UNet steps after one warm-up — batch 2 with classifier-free guidance (sd15, sd21), batch 1 without \
            (sd-turbo, one step at guidance 0) — and one VAE decode.
            """)

    @Option(help: "sd15, sd21 (OpenCLIP ViT-H, 768²) or sd-turbo (SD 2.1's shape at 512², no guidance).")
    var model: BenchmarkModel = .sd15

    @Option(help: "Image size in pixels (square), a multiple of \(GenerationDefaults.sizeMultiple) (default: the model's, 512 or 768).")
    var size: Int?

    @Option(help: "Timed UNet steps.")
    var steps = 5

    @OptionGroup var options: BenchmarkOptions

    func validate() throws {
        let multiple = GenerationDefaults.sizeMultiple
        if let size, size <= 0 || size % multiple != 0 { throw ValidationError("--size must be a positive multiple of \(multiple)") }
        guard steps > 0 else { throw ValidationError("--steps must be positive") }
    }

    func run() throws {
        var results: [StableDiffusionBenchmark.Result] = []
        let size = self.size ?? model.defaultSize
        let found = try options.forEachDevice { device, backend in
            options.progress(device, "synthesising \(model.title) weights")
            let benchmark = try StableDiffusionBenchmark(model: model, randomWeightsOn: backend)
            results.append(try benchmark.run(device: device.rawValue, width: size, height: size, steps: steps,
                                             profile: options.profile) { stage in
                options.progress(device, stage)
            })
        }
        let (devices, peaks, peak) = (options.devices, found.peaks, options.peak)
        if options.json {
            try options.printJSON(BenchReport(devices: found.names, peakGFLOPPerSecond: peaks.mapValues { $0 / 1e9 },
                                              results: results))
            return
        }

        let batch = model.batch == 2 ? "UNet batch 2 (guidance)" : "UNet batch 1 (no guidance)"
        print("\(model.title) (random fp16 weights), \(size)×\(size), \(batch), \(steps) timed steps")
        print(found.heading(devices))
        var header = ["device", "UNet s/it (median)", "UNet min", "text encoder ms", "VAE decode s",
                      "\(model.imageSteps)-step image s", "UNet GFLOP/s"]
        if peak { header.append("% peak") }
        header.append("peak RSS")
        let onDevice = results.contains { $0.peakDeviceBytes != nil }
        if onDevice { header.append("GPU memory") }
        if results.count == 2 { header.append("speedup") }
        var table = TextTable(header: header)
        for result in results {
            var cells = [result.device.uppercased(), String(format: "%.2f", result.unet.median),
                         String(format: "%.2f", result.unet.minimum),
                         String(format: "%.0f", result.textEncoderMilliseconds),
                         String(format: "%.1f", result.vaeDecodeSeconds),
                         String(format: "%.0f", result.projectedImageSeconds),
                         String(format: "%.1f", result.unetGFLOPPerSecond)]
            if peak, let p = peaks[result.device] {
                cells.append(String(format: "%.0f%%", 100 * result.unetGFLOPPerSecond * 1e9 / p))
            } else if peak {
                cells.append("n/a")
            }
            cells.append(ProcessMemory.format(result.peakResidentBytes))
            if onDevice { cells.append(result.peakDeviceBytes.map { ProcessMemory.format($0) } ?? "–") }
            if results.count == 2 {
                let cpu = results[0].unet.median
                cells.append(String(format: "%.1f×", cpu / result.unet.median))
            }
            table.append(cells)
        }
        print(table.render(markdown: options.markdown))
        for result in results {
            if let commands = result.unetCommands {
                print(ProfileReport.commands("\(result.device.uppercased()) UNet step", commands))
            }
        }
        for result in results {
            if let profile = result.textEncoderProfile {
                print("\n" + ProfileReport.render("\(result.device.uppercased()): text encoder", profile, markdown: options.markdown))
            }
            if let profile = result.unetProfile {
                print("\n" + ProfileReport.render("\(result.device.uppercased()): one UNet step", profile, markdown: options.markdown))
            }
            if let profile = result.vaeProfile {
                print("\n" + ProfileReport.render("\(result.device.uppercased()): VAE decode", profile, markdown: options.markdown))
            }
        }
        if let first = results.first {
            print(String(format: "Work: UNet step %.0f GFLOP, VAE decode %.0f GFLOP (multiply-add = 2)",
                         first.unetGFLOP, first.vaeGFLOP))
            if results.contains(where: { $0.device == ComputeDevice.cpu.rawValue }) && options.backendOptions.convolution != .direct {
                // GFLOP/s divide the definition's work by time; Winograd does less of it.
                print("CPU GFLOP/s count 3×3 convolutions as direct (9 multiply-adds per output and input channel); "
                      + "Winograd needs 2.25, so the CPU can pass its sgemm peak (--convolution direct to compare)")
            }
        }
    }
}

struct BenchReport: Codable {
    let devices: [String: String]
    let peakGFLOPPerSecond: [String: Double]
    let results: [StableDiffusionBenchmark.Result]
}
