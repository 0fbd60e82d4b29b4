import ArgumentParser
import Foundation

@main
struct SDGen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdgen",
        abstract: "Stable Diffusion 1.5 text-to-image and CPU-vs-GPU inference benchmarks, on Vulkan or the CPU.",
        subcommands: [
            GenerateCommand.self,
            BenchCommand.self,
            BertBenchCommand.self,
            DevicesCommand.self,
            EmbedCommand.self,
            TokenizeCommand.self,
            InfoCommand.self,
            DownloadCommand.self,
            ServeCommand.self,
        ],
        defaultSubcommand: GenerateCommand.self)

    /// Every failure, ours or the parser's, ends as one `error: …` line on
    /// stderr and a non-zero status; help and version still print normally.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            // A signal's status (128 + signal) for a run it stopped; else the parser's choice.
            let code = (error as? Interrupted).map { ExitCode($0.exitCode) } ?? exitCode(for: error)
            if code == .success || code.rawValue == 0 { exit(withError: error) }
            // The parser's messages can span lines (a list of valid values): one line here.
            let message = (ErrorMessage.describe(error) ?? message(for: error)).split(separator: "\n")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}
