import Foundation

/// A1111's emphasis syntax (`parse_prompt_attention` in its
/// modules/prompt_parser.py): `(text)` ×1.1, `((text))` ×1.21, `[text]`
/// ÷1.1, `(text:1.3)`, `\(` `\)` `\[` `\]` `\\` escapes, `BREAK` between
/// words starting a new chunk. An unclosed bracket weights the rest of the
/// prompt; a closer without an opener is text. Neighbouring runs of equal
/// weight are merged, exactly as A1111 merges them (BREAK markers included).
public enum PromptAttention {
    /// A stretch of prompt text and its weight; `isBreak` marks a BREAK.
    public struct Run: Sendable, Equatable {
        public var text: String
        public var weight: Double

        public init(_ text: String, _ weight: Double) {
            self.text = text
            self.weight = weight
        }

        /// A1111 marks BREAK as the text "BREAK" with weight −1; a BREAK
        /// inside brackets is multiplied with the rest and then reads as
        /// ordinary text, as it does there.
        public var isBreak: Bool { text == "BREAK" && weight == -1 }
    }

    public static func parse(_ prompt: String) throws(PromptSyntaxError) -> [Run] {
        var runs: [Run] = []
        var round: [Int] = [], square: [Int] = []
        func multiply(from start: Int, by factor: Double) {
            for i in start..<runs.count { runs[i].weight *= factor }
        }
        for token in tokens(of: prompt) {
            switch token {
            case .escaped(let text):
                runs.append(Run(text, 1))
            case .open(let isRound):
                if isRound { round.append(runs.count) } else { square.append(runs.count) }
            case .weightClose(let number, let literal):
                if let start = round.popLast() {
                    guard let weight = Double(number) else { throw .badWeight(literal) }
                    multiply(from: start, by: weight)
                } else {
                    appendText(literal, to: &runs)
                }
            case .close(let isRound, let literal):
                if isRound, let start = round.popLast() {
                    multiply(from: start, by: 1.1)
                } else if !isRound, let start = square.popLast() {
                    multiply(from: start, by: 1 / 1.1)
                } else {
                    appendText(literal, to: &runs)
                }
            case .text(let text):
                appendText(text, to: &runs)
            }
        }
        for start in round { multiply(from: start, by: 1.1) }
        for start in square { multiply(from: start, by: 1 / 1.1) }
        if runs.isEmpty { runs = [Run("", 1)] }
        var i = 0
        while i + 1 < runs.count {
            if runs[i].weight == runs[i + 1].weight {
                runs[i].text += runs[i + 1].text
                runs.remove(at: i + 1)
            } else {
                i += 1
            }
        }
        return runs
    }

    /// Text, split at `BREAK` (a word, with the whitespace around it).
    private static func appendText(_ text: String, to runs: inout [Run]) {
        for (index, part) in splitAtBreak(text).enumerated() {
            if index > 0 { runs.append(Run("BREAK", -1)) }
            runs.append(Run(part, 1))
        }
    }

    /// Python's `re.split(r"\s*\bBREAK\b\s*", text)`.
    private static let breakPattern = try! NSRegularExpression(pattern: #"\s*\bBREAK\b\s*"#, options: [.dotMatchesLineSeparators])

    private static func splitAtBreak(_ text: String) -> [String] {
        let whole = NSRange(text.startIndex..., in: text)
        var parts: [String] = []
        var start = text.startIndex
        for match in breakPattern.matches(in: text, range: whole) {
            guard let range = Range(match.range, in: text) else { continue }
            parts.append(String(text[start..<range.lowerBound]))
            start = range.upperBound
        }
        parts.append(String(text[start...]))
        return parts
    }

    private enum Token {
        case escaped(String)
        case open(isRound: Bool)
        /// `:` + number + `)`, the number as written.
        case weightClose(number: String, literal: String)
        case close(isRound: Bool, literal: String)
        case text(String)
    }

    /// A1111's `re_attention`, alternative by alternative, in its order.
    private static func tokens(of prompt: String) -> [Token] {
        let scalars = Array(prompt.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        func string(_ range: Range<Int>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return String(view)
        }
        while i < scalars.count {
            let c = scalars[i]
            if c == "\\" {
                // `\(` `\)` `\[` `\]` `\\` keep the character; a lone backslash vanishes.
                if i + 1 < scalars.count, "()[]\\".unicodeScalars.contains(scalars[i + 1]) {
                    tokens.append(.escaped(string(i + 1..<i + 2)))
                    i += 2
                } else {
                    tokens.append(.escaped(""))
                    i += 1
                }
            } else if c == "(" || c == "[" {
                tokens.append(.open(isRound: c == "("))
                i += 1
            } else if c == ":" {
                // `:\s*([+-]?[.\d]+)\s*\)`, else a lone colon as text.
                var j = i + 1
                while j < scalars.count, isSpace(scalars[j]) { j += 1 }
                let numberStart = j
                if j < scalars.count, scalars[j] == "+" || scalars[j] == "-" { j += 1 }
                let digitsStart = j
                while j < scalars.count, scalars[j] == "." || ("0"..."9").contains(scalars[j]) { j += 1 }
                let number = string(numberStart..<j)
                var k = j
                while k < scalars.count, isSpace(scalars[k]) { k += 1 }
                if j > digitsStart, k < scalars.count, scalars[k] == ")" {
                    tokens.append(.weightClose(number: number, literal: string(i..<k + 1)))
                    i = k + 1
                } else {
                    tokens.append(.text(":"))
                    i += 1
                }
            } else if c == ")" || c == "]" {
                tokens.append(.close(isRound: c == ")", literal: String(c)))
                i += 1
            } else {
                var j = i
                while j < scalars.count, !"\\()[]:".unicodeScalars.contains(scalars[j]) { j += 1 }
                tokens.append(.text(string(i..<j)))
                i = j
            }
        }
        return tokens
    }

    /// Python's `\s` for str patterns: Unicode whitespace.
    private static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace || ("\u{1C}"..."\u{1F}").contains(c)
    }
}

/// A prompt A1111's syntax cannot read, as one line.
public enum PromptSyntaxError: Error, CustomStringConvertible, Equatable {
    case badWeight(String)
    case tooLong(label: String, chunks: Int, limit: Int)

    public var description: String {
        switch self {
        case .badWeight(let literal):
            "prompt: the weight in '\(literal)' is not a number"
        case let .tooLong(label, chunks, limit):
            "\(label) takes \(chunks) chunks of 75 tokens; at most \(limit) (\(limit * 75) tokens) are read"
        }
    }
}
