import ArgumentParser

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Sentence embeddings from a BERT folder (mean pooling, L2-normalised).")

    func run() throws {
        throw CommandFailure("'sdgen embed' is planned but not built yet")
    }
}
