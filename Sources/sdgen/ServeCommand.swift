import ArgumentParser
import Foundation
import Logging
import Pipeline
import PromptLanguage
import Server

/// `sdgen serve`: the model loaded once, AUTOMATIC1111's API and a web page
/// over it (the `Server` library); this command only reads its options,
/// loads the first model and prints where it listens.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve AUTOMATIC1111's /sdapi/v1 API and a web page, with the model loaded once.",
        discussion: """
            Clients of A1111's API (the webuiapi package, Krita's and Photoshop's plugins, bots) work unchanged. \
            Requests run one at a time in arrival order; GET /metrics is in Prometheus's format. \
            Without --host the server listens on loopback only: anyone who can reach it can run any prompt.
            """)

    @Option(help: "The address to listen on (0.0.0.0: every interface).")
    var host = ServerConfiguration.defaultHost

    @Option(help: "The port (0: any free one, printed).")
    var port = ServerConfiguration.defaultPort

    @Option(help: "The model to load first (default: the first under --weights-dir); clients switch among those under --weights-dir by sd_model_checkpoint.")
    var weights: String?

    @Option(help: "The folder whose diffusers folders and .safetensors checkpoints clients may choose.")
    var weightsDir = "weights"

    @Option(help: ArgumentHelp("HTTP basic authentication on every route.", valueName: "user:pass[,user2:pass2]"))
    var apiAuth: String?

    @Option(help: "Jobs that may wait besides the running one; more get 503.")
    var queueLimit = ServerConfiguration.defaultQueueLimit

    @Option(help: ArgumentHelp("The largest request body (413 beyond): bytes, or with KB/MB/GB.", valueName: "size"))
    var maxBody = ByteSize(bytes: ServerConfiguration.defaultMaxBodyBytes)

    @Option(help: ArgumentHelp("Origins whose pages may call the API, comma-separated ('*': any).", valueName: "origins"))
    var corsAllowOrigins: String?

    @Option(help: "cpu or gpu.")
    var device: ComputeDevice = .cpu

    @OptionGroup var backendOptions: BackendOptions

    @Option(help: "Textual-inversion embeddings prompts may name.")
    var embeddingsDir = "weights/embeddings"

    @Option(help: "The LoRA folder: <lora:NAME:WEIGHT> in prompts names files under it, never paths.")
    var loraDir = LoRALibrary.defaultFolder.relativePath

    @Option(help: "Where save_images: true writes its PNGs.")
    var outputs = OutputPlan.defaultFolder.relativePath

    @Option(help: "A tiny autoencoder for live previews: 'taesd' (weights/taesd) or an AutoencoderTiny folder (default: A1111's cheap approximation).")
    var previewVae: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard queueLimit >= 0 else { throw ValidationError("--queue-limit must be 0 or more") }
        guard maxBody.bytes > 0 else { throw ValidationError("--max-body must be positive") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
    }

    func run() async throws {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.queueLimit = queueLimit
        configuration.maxBodyBytes = maxBody.bytes
        configuration.outputsFolder = URL(fileURLWithPath: outputs)
        configuration.corsAllowOrigins = corsAllowOrigins.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
        if let apiAuth {
            do { configuration.credentials = try BasicAuthentication.parse(apiAuth) } catch { throw ValidationError("\(error)") }
        }

        // The first model: named, else the first under the weights folder.
        let folder = URL(fileURLWithPath: weightsDir)
        let first: URL
        if let weights {
            first = try WeightsLocator.locate(explicit: weights, defaultFolder: folder)
        } else {
            guard let candidate = WeightsLocator.candidates(in: folder).first else { throw WeightsError.noneFound(folder.path) }
            first = candidate.url
        }
        let catalog = ModelCatalog(folder: folder, including: first)

        let backend = try backendOptions.settings.makeBackend(for: device)
        BackendSettings.advisories(for: backend).forEach { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) }
        let embeddings = TextualInversionLibrary(folder: URL(fileURLWithPath: embeddingsDir))
        for skipped in embeddings.skipped {
            FileHandle.standardError.write(Data("warning: skipping an embedding: \(skipped)\n".utf8))
        }
        let loras = LoRALibrary(folder: URL(fileURLWithPath: loraDir), allowsPaths: false)
        let preview = try previewVae.map { try TinyAutoencoderFolder.resolve($0, flag: "--preview-vae") }
        let models = ModelHost(catalog: catalog) { entry in
            let service = try GenerationService(loading: .path(entry.url), backend: backend, embeddings: embeddings,
                                                loraLibrary: loras)
            if let preview { try service.attachTinyAutoencoder(folder: preview) }
            return service
        }
        let setup = Stopwatch()
        guard let entry = catalog.entry(at: first) else { throw WeightsError.notFound(first.path) }
        let service = try models.service(for: entry)
        FileHandle.standardOutput.write(Data("Loaded \(service.model.name) on \(backend.name) in \(String(format: "%.1f", setup.seconds)) s\n".utf8))

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let server = SDGenServer(configuration: configuration, host: models)
        let shownHost = host.contains(":") ? "[\(host)]" : host
        try await server.run { port in
            // Unbuffered: a pipe (a test, a supervisor) sees the line now, not at exit.
            FileHandle.standardOutput.write(Data(("sdgen serving at http://\(shownHost):\(port)/ (A1111 API under /sdapi/v1, "
                                                  + "metrics at /metrics); Ctrl-C to stop\n").utf8))
        }
        print("sdgen stopped")
    }
}

/// A size in bytes from "33554432", "512KB", "32MB" or "1GB" (powers of 1024, as A1111's and browsers' limits).
struct ByteSize: ExpressibleByArgument, CustomStringConvertible {
    let bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        let text = argument.uppercased().trimmingCharacters(in: .whitespaces)
        let units: [(String, Int)] = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)]
        let (suffix, scale) = units.first { text.hasSuffix($0.0) } ?? ("", 1)
        guard let value = Int(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), value >= 0,
              value <= Int.max / scale else { return nil }
        bytes = value * scale
    }

    var description: String { bytes % (1 << 20) == 0 ? "\(bytes >> 20)MB" : "\(bytes)" }
    var defaultValueDescription: String { description }
}
