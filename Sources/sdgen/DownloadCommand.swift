import ArgumentParser

struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download Stable Diffusion 1.5 into weights/, resumable and verified.")

    func run() throws {
        throw CommandFailure("'sdgen download' is planned but not built yet")
    }
}
