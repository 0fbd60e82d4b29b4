import ArgumentParser
import Foundation
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

    @Flag(help: "Print a JSON array, one object per text.")
    var json = false

    @Argument(help: "The texts (put -- before a text that starts with a dash).")
    var texts: [String] = []

    func validate() throws {
        if let maxLength, maxLength < 2 {
            throw ValidationError("--max-length must be at least 2 (room for the start and end tokens)")
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
