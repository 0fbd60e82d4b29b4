import Foundation
import PromptLanguage
import Tokenizers

extension FuzzTarget {
    /// A prompt in A1111's syntax: its `<lora:…>` tags; its editing/alternation schedule over 20
    /// steps, each text parsed for emphasis and BREAK and cut into chunks
    /// with the bundled CLIP vocabulary.
    static let prompt = FuzzTarget(name: "prompt", input: "a prompt (UTF-8 text)") { data in
        let text = String(decoding: data, as: UTF8.self)
        _ = try? LoRATags.extract(text)
        for entry in PromptSchedule.entries(text, steps: 20) {
            guard let runs = try? PromptAttention.parse(entry.text) else { continue }
            _ = promptChunker.chunks(runs)
        }
    }

    private static let promptChunker = PromptChunker(tokenizer: try! CLIPTokenizer.bundled(), contextLength: 77)
}
