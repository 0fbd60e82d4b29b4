import ArgumentParser
import Foundation
import Pipeline
import PromptLanguage
import Tokenizers

/// `sdgen tokenize`: shows how texts are cut into tokens, with the ids the
/// text encoder would get.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show how texts are cut into tokens (CLIP, BERT or SentencePiece).",
        discussion: """
            CLIP uses the vocabulary bundled with sdgen unless --vocab names a tokenizer \
            folder, vocab.json or tokenizer.json. BERT needs --vocab (a vocab.txt), \
            SentencePiece a .model file. With no TEXT, reads one text per line from stdin.
            """)

    @Option(help: "Which tokenizer: clip, bert or sentencepiece (default: what --vocab holds, else clip).")
    var tokenizer: TokenizerKind?

    @Option(help: "A tokenizer folder, vocab.json or tokenizer.json (clip), vocab.txt (bert) or .model (sentencepiece).")
    var vocab: String?

    @Option(help: "Truncate and pad every text to exactly this many ids, as the pipeline does.")
    var maxLength: Int?

    @Flag(help: "CLIP: clean text as transformers 4's Python CLIPTokenizer did (without ftfy), not as transformers 5 does.")
    var slow = false

    @Flag(help: "CLIP: show the prompt as sdgen's default (A1111) syntax reads it: 75-token chunks and each token's weight.")
    var chunks = false

    @Option(help: "With --chunks: original, no-norm or none (brackets as text).")
    var emphasis: Emphasis = GenerationDefaults.emphasis

    @Flag(help: "Print a JSON array, one object per text.")
    var json = false

    @Argument(help: "The texts (put -- before a text that starts with a dash).")
    var texts: [String] = []

    static let longestMaxLength = 1 << 16

    func validate() throws {
        // Models read 77 (CLIP) or 512 (BERT) ids; far more is a typo, and would pad gigabytes.
        if let maxLength, !(2...Self.longestMaxLength).contains(maxLength) {
            throw ValidationError("--max-length must be between 2 (room for the start and end tokens) and "
                                  + "\(Self.longestMaxLength) (got \(maxLength))")
        }
        if slow, let tokenizer, tokenizer != .clip {
            throw ValidationError("--slow applies to the CLIP tokenizer only")
        }
    }

    func run() throws {
        let url = vocab.map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }
        let tokenizer = try TokenizerLoader.load(tokenizer, from: url, clipCleanup: slow ? .slow : .fast)
        if slow, !(tokenizer is CLIPTokenizer) {
            throw TokenizerError("--slow applies to the CLIP tokenizer only")
        }
        var texts = texts
        if texts.isEmpty {
            while let line = readLine(strippingNewline: true) { texts.append(line) }
        }

        if chunks {
            guard let clip = tokenizer as? CLIPTokenizer else { throw TokenizerError("--chunks applies to the CLIP tokenizer only") }
            let encoder = A1111PromptEncoder(encoders: [], emphasis: emphasis)
            let chunker = PromptChunker(tokenizer: clip, contextLength: CLIPTokenizer.defaultMaxLength)
            // As generation reads them: `<lora:…>` tags are not text.
            let chunked = try texts.map { chunker.chunks(try encoder.runs(of: try LoRATags.extract($0).text)) }
            print(json ? Self.json(chunks: chunked, texts, clip) : Self.table(chunks: chunked, texts, clip), terminator: "")
            return
        }

        var results: [(text: String, encoded: EncodedText)] = []
        for (index, text) in texts.enumerated() {
            let encoded = try tokenizer.encode(text, maxLength: maxLength)
            let label = texts.count > 1 ? "text \(index + 1)" : "the text"
            if let warning = tokenizer.truncationWarning(for: encoded, label: label) {
                FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
            }
            results.append((text, encoded))
        }
        print(json ? Self.json(results, tokenizer) : Self.table(results, tokenizer), terminator: "")
    }

    private static func table(_ results: [(text: String, encoded: EncodedText)], _ tokenizer: any Tokenizer) -> String {
        var out = ""
        for (index, result) in results.enumerated() {
            if index > 0 { out += "\n" }
            let encoded = result.encoded
            let real = encoded.attentionMask.filter { $0 == 1 }.count
            let tokens = tokenizer.tokens(for: Array(encoded.ids.prefix(real)))
            out += "text: \(result.text.debugDescription)\n"
            out += "tokens (\(real)): \(tokens.joined(separator: " "))"
            if real < encoded.ids.count { out += "  + \(encoded.ids.count - real) padding" }
            out += "\n"
            out += "ids (\(encoded.ids.count)): \(encoded.ids.map(String.init).joined(separator: " "))\n"
            if encoded.truncatedCount > 0 {
                out += "truncated: \(encoded.truncatedCount) tokens dropped: \(tokenizer.decode(encoded.truncatedIDs).debugDescription)\n"
            }
        }
        return out
    }

    /// Each chunk's tokens (BOS, EOS and padding left out), a weight after any token that has one.
    private static func table(chunks: [[PromptChunk]], _ texts: [String], _ tokenizer: CLIPTokenizer) -> String {
        var out = ""
        for (index, (text, textChunks)) in zip(texts, chunks).enumerated() {
            if index > 0 { out += "\n" }
            out += "text: \(text.debugDescription)\n"
            for (number, chunk) in textChunks.enumerated() {
                let content = contentRange(chunk, tokenizer)
                let words = zip(tokenizer.tokens(for: Array(chunk.tokens[content])), chunk.weights[content]).map { token, weight in
                    weight == 1 ? token : token + String(format: "×%.3g", weight)
                }
                out += "chunk \(number + 1) (\(content.count) of \(chunk.tokens.count - 2) tokens): \(words.joined(separator: " "))\n"
            }
        }
        return out
    }

    private static func json(chunks: [[PromptChunk]], _ texts: [String], _ tokenizer: CLIPTokenizer) -> String {
        struct Chunk: Encodable { let ids: [Int32]; let tokens: [String]; let weights: [Float] }
        struct Text: Encodable { let text: String; let chunks: [Chunk] }
        let items = zip(texts, chunks).map { text, textChunks in
            Text(text: text, chunks: textChunks.map { Chunk(ids: $0.tokens, tokens: tokenizer.tokens(for: $0.tokens),
                                                           weights: $0.weights) })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .prettyPrinted]
        return ((try? encoder.encode(items)).map { String(decoding: $0, as: UTF8.self) } ?? "[]") + "\n"
    }

    /// A chunk's tokens between BOS and the first EOS.
    private static func contentRange(_ chunk: PromptChunk, _ tokenizer: CLIPTokenizer) -> Range<Int> {
        let end = chunk.tokens.dropFirst().firstIndex(of: tokenizer.eosID) ?? chunk.tokens.count - 1
        return 1..<end
    }

    private static func json(_ results: [(text: String, encoded: EncodedText)], _ tokenizer: any Tokenizer) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        func quoted(_ s: String) -> String {
            (try? encoder.encode(s)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
        }
        let objects = results.map { result in
            let ids = result.encoded.ids.map(String.init).joined(separator: ", ")
            let tokens = tokenizer.tokens(for: result.encoded.ids).map(quoted).joined(separator: ", ")
            return "  {\"text\": \(quoted(result.text)), \"ids\": [\(ids)], \"tokens\": [\(tokens)], "
                + "\"truncated\": \(result.encoded.truncatedCount)}"
        }
        return objects.isEmpty ? "[]\n" : "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }
}

extension TokenizerKind: ExpressibleByArgument {}
