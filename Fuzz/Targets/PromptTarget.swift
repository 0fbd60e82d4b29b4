import Foundation
import Pipeline
import Tokenizers

extension FuzzTarget {
    /// A prompt in A1111's syntax: parsed for emphasis and BREAK, cut into
    /// chunks with the bundled CLIP vocabulary.
    static let prompt = FuzzTarget(name: "prompt", input: "a prompt (UTF-8 text)") { data in
        guard let runs = try? PromptAttention.parse(String(decoding: data, as: UTF8.self)) else { return }
        _ = promptChunker.chunks(runs)
    }

    private static let promptChunker = PromptChunker(tokenizer: try! CLIPTokenizer.bundled(), contextLength: 77)
}
