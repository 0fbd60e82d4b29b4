import ArgumentParser
import Foundation
import Pipeline

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Sentence embeddings from a BERT folder (mean pooling, L2-normalised).",
        discussion: """
            For sentence-transformers models such as all-MiniLM-L6-v2 (scripts/fetch_minilm.sh puts it in \
            weights/all-MiniLM-L6-v2). Several texts also get their cosine similarities.
            """)

    @Option(help: "A Hugging Face BERT folder: config.json, model.safetensors, vocab.txt.")
    var weights: String

    @Option(help: "cpu or gpu.")
    var device: ComputeDevice = .cpu


    @OptionGroup var backendOptions: BackendOptions

    @Flag(help: "Print [{\"text\": …, \"embedding\": […]}] as JSON.")
    var json = false

    @Argument(help: "The texts.")
    var texts: [String]

    func validate() throws {
        guard !texts.isEmpty else { throw ValidationError("give at least one text") }
    }

    func run() throws {
        let embedder = try SentenceEmbedder(folder: URL(fileURLWithPath: weights),
                                            backend: backendOptions.settings.makeBackend(for: device))
        let vectors = try embedder.embed(texts)
        if json {
            struct Item: Encodable { let text: String; let embedding: [Float] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let items = zip(texts, vectors).map { Item(text: $0, embedding: $1) }
            print(String(decoding: try encoder.encode(items), as: UTF8.self))
            return
        }
        for (text, vector) in zip(texts, vectors) {
            let head = vector.prefix(6).map { String(format: "%+.4f", $0) }.joined(separator: " ")
            print("\(text)\n  \(vector.count) dims: \(head) …")
        }
        if texts.count > 1 {
            print("\nCosine similarity")
            var table = TextTable(header: ["#"] + texts.indices.map { "\($0 + 1)" })
            for (i, a) in vectors.enumerated() {
                table.append(["\(i + 1)"] + vectors.map { String(format: "%.3f", SentenceEmbedder.similarity(a, $0)) })
            }
            print(table.render(markdown: false))
        }
    }
}
