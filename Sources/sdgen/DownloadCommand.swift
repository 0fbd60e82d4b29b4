import ArgumentParser
import Foundation
import HubDownload

struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download Stable Diffusion 1.5 into weights/, resumable and verified.",
        discussion: """
            Fetches only what sdgen needs from a diffusers repository on the Hugging Face Hub \
            (configs, tokenizer, and the fp16 safetensors of unet, text_encoder and vae) into \
            weights/<name>/. Each file is streamed to a .part file, resumed after an interruption \
            (run the same command again), and checked against the Hub's sha256 before it is renamed \
            into place. Files already in the Hugging Face cache (~/.cache/huggingface/hub, what \
            diffusers fills) are reused instead of downloaded.

            Environment: HF_ENDPOINT (a mirror of the Hub), HF_TOKEN (gated or private models), \
            HF_HUB_CACHE or HF_HOME (where the Hugging Face cache is), HF_HUB_OFFLINE=1 (the cache only).
            """)

    @Argument(help: "A diffusers repository on the Hub.")
    var model: String = HubRepository.stableDiffusion15.id

    @Option(help: "Branch, tag or commit.")
    var revision = "main"

    @Option(help: "The Hub or a mirror (default: $HF_ENDPOINT, else https://huggingface.co).")
    var endpoint: String?

    @Option(help: "The folder that holds models.")
    var outputDir = "weights"

    @Option(help: "The model's folder name under --output-dir (default: the repository's name).")
    var name: String?

    @Flag(help: "Fetch the full-precision weights instead of the fp16 variants (twice the download).")
    var fullPrecision = false

    @Flag(help: "Do not reuse files from the Hugging Face cache.")
    var noCache = false

    @Option(help: "Seconds a connection may stay silent before it is given up.")
    var timeout: Double = 30

    func validate() throws {
        if let name, name.isEmpty || name.contains("/") || name == "." || name == ".." {
            throw ValidationError("--name must be a plain folder name")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let repository = try HubRepository(model)
        let environment = ProcessInfo.processInfo.environment
        var hub = try HubConfiguration.fromEnvironment(environment, endpoint: endpoint)
        hub.idleTimeout = timeout
        let offline = ["1", "ON", "YES", "TRUE"].contains(environment["HF_HUB_OFFLINE"]?.uppercased() ?? "")
        let downloader = ModelDownloader(client: HubClient(configuration: hub),
                                         cache: noCache ? nil : HubCache.fromEnvironment(environment),
                                         offline: offline, precision: fullPrecision ? .fp32 : .fp16)
        let folder = URL(fileURLWithPath: outputDir).appendingPathComponent(name ?? repository.name)

        let reporter = DownloadReporter()
        reporter.note("\(repository.id) (\(revision)) from \(offline ? "the Hugging Face cache" : hub.endpoint.absoluteString) into \(folder.relativePath)/")
        let summary: ModelDownloader.Summary
        do {
            summary = try downloader.download(repository, revision: revision, into: folder, events: reporter.handle)
        } catch {
            reporter.finish()
            throw error
        }
        reporter.finish()

        var details = ["\(summary.files.count) files", DownloadProgress.bytes(summary.totalBytes),
                       "commit \(summary.commit.prefix(7))"]
        if summary.downloadedBytes > 0 { details.append("\(DownloadProgress.bytes(summary.downloadedBytes)) downloaded") }
        if !summary.fromCache.isEmpty { details.append("\(summary.fromCache.count) from the Hugging Face cache") }
        if !summary.alreadyPresent.isEmpty { details.append("\(summary.alreadyPresent.count) already present") }
        print("\(folder.relativePath): \(details.joined(separator: ", "))")
    }
}
