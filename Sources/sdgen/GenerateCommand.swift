import ArgumentParser

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate images from a text prompt (the default command).")

    func run() throws {
        throw CommandFailure("'sdgen generate' is planned but not built yet")
    }
}
