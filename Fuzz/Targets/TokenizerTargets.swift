import Foundation
import Tokenizers

extension FuzzTarget {
    /// CLIP's vocab.json, merges.txt and tokenizer_config.json, NUL-separated in one input.
    static let clipTokenizerFiles = FuzzTarget(name: "clip-files",
                                               input: "vocab.json NUL merges.txt NUL tokenizer_config.json") { data in
        let parts = Scratch.parts(data, count: 3)
        let folder = Scratch.write(["vocab.json": parts[0], "merges.txt": parts[1], "tokenizer_config.json": parts[2]])
        guard let tokenizer = try? CLIPTokenizer(contentsOf: folder) else { return }
        for text in sampleTexts { _ = tokenizer.encode(text, maxLength: 77) }
    }

    /// A tokenizer.json (transformers ≥ 5's single file), as a CLIP or a BERT tokenizer.
    static let tokenizerJSON = FuzzTarget(name: "tokenizer-json", input: "tokenizer.json") { data in
        let folder = Scratch.write(["tokenizer.json": data])
        if let clip = try? CLIPTokenizer(contentsOf: folder) {
            for text in sampleTexts { _ = clip.encode(text, maxLength: 77) }
        }
        if let bert = try? BertTokenizer(contentsOf: folder) {
            for text in sampleTexts { _ = bert.encode(text, maxLength: 128) }
        }
    }

    /// BERT's WordPiece vocab.txt and tokenizer_config.json, NUL-separated.
    static let wordPiece = FuzzTarget(name: "wordpiece", input: "vocab.txt NUL tokenizer_config.json") { data in
        let parts = Scratch.parts(data, count: 2)
        let folder = Scratch.write(["vocab.txt": parts[0], "tokenizer_config.json": parts[1]])
        guard let tokenizer = try? BertTokenizer(contentsOf: folder) else { return }
        for text in sampleTexts { _ = tokenizer.encode(text, maxLength: 128) }
    }

    /// A SentencePiece model (protobuf).
    static let sentencePiece = FuzzTarget(name: "sentencepiece", input: "a SentencePiece .model file") { data in
        let url = Scratch.write(["spiece.model": data]).appendingPathComponent("spiece.model")
        guard let tokenizer = try? SentencePieceTokenizer(contentsOf: url) else { return }
        for text in sampleTexts { _ = try? tokenizer.encode(text, maxLength: 128) }
    }
}
