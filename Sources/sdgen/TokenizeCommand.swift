import ArgumentParser

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show how texts are cut into tokens (CLIP, BERT or SentencePiece).")

    func run() throws {
        throw CommandFailure("'sdgen tokenize' is planned but not built yet")
    }
}
