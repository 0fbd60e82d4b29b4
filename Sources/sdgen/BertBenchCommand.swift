import ArgumentParser

struct BertBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bert-bench",
        abstract: "Time the BERT-base encoder at batch 1/4 × sequence 128/512 on the CPU and the GPU.")

    func run() throws {
        throw NotBuiltYet(command: "bert-bench")
    }
}
