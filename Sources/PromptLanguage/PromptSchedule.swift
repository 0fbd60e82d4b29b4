/// A1111's prompt editing and alternation
/// (`get_learned_conditioning_prompt_schedules` in its modules/prompt_parser.py,
/// whose lark grammar this parser follows): `[from:to:when]`, `[to:when]` and
/// `[from::when]` switch text at a step — a fraction of the steps when the
/// number has a point, else a step number — and `[a|b|c]` alternates every
/// step. Emphasis brackets pass through as text for `PromptAttention`. A
/// prompt the grammar rejects is used as it is.
public enum PromptSchedule {
    /// `text` is used while the sampler's evaluation counter (0-based) is ≤ `endStep`.
    public struct Entry: Sendable, Equatable {
        public let endStep: Int
        public let text: String

        public init(endStep: Int, text: String) {
            self.endStep = endStep
            self.text = text
        }
    }

    public static func entries(_ prompt: String, steps: Int) -> [Entry] {
        var parser = Parser(Array(prompt.unicodeScalars))
        guard let nodes = parser.parseStart() else { return [Entry(endStep: steps, text: prompt)] }
        var ends: Set<Int> = [steps]
        collect(nodes, steps: steps, into: &ends)
        return ends.sorted().map { Entry(endStep: $0, text: render(nodes, atStep: $0, steps: steps)) }
    }

    /// The text used at evaluation `index` (0-based) of a schedule.
    public static func text(of entries: [Entry], atEvaluation index: Int) -> String {
        (entries.first { index <= $0.endStep } ?? entries[entries.count - 1]).text
    }

    indirect enum Node {
        case text(String)
        case scheduled(before: [Node], after: [Node], when: String)
        case alternate([[Node]])
    }

    /// The step a `when` number means (`min(steps, int(v))`, v a fraction of the steps if written with a point).
    static func step(_ when: String, steps: Int) -> Int {
        let value = Double(when) ?? 0
        let scaled = when.contains(".") ? value * Double(steps) : value
        guard scaled.isFinite else { return scaled > 0 ? steps : Int.min }
        return min(steps, Int(max(min(scaled, 1e15), -1e15)))
    }

    private static func collect(_ nodes: [Node], steps: Int, into ends: inout Set<Int>) {
        for node in nodes {
            switch node {
            case .text: break
            case let .scheduled(before, after, when):
                let at = step(when, steps: steps)
                if at >= 1 { ends.insert(at) }
                collect(before, steps: steps, into: &ends)
                collect(after, steps: steps, into: &ends)
            case let .alternate(options):
                ends.formUnion(1...max(1, steps))
                for option in options { collect(option, steps: steps, into: &ends) }
            }
        }
    }

    private static func render(_ nodes: [Node], atStep step: Int, steps: Int) -> String {
        var out = ""
        for node in nodes {
            switch node {
            case .text(let text): out += text
            case let .scheduled(before, after, when):
                out += render(step <= Self.step(when, steps: steps) ? before : after, atStep: step, steps: steps)
            case let .alternate(options):
                out += render(options[(step - 1) % options.count], atStep: step, steps: steps)
            }
        }
        return out
    }

    /// Recursive descent over the grammar
    ///     start: (prompt | /[][():]/+)*
    ///     prompt: (emphasized | scheduled | alternate | plain | WHITESPACE)*
    ///     emphasized: "(" prompt ")" | "(" prompt ":" prompt ")" | "[" prompt "]"
    ///     scheduled: "[" [prompt ":"] prompt ":" [WHITESPACE] NUMBER [WHITESPACE] "]"
    ///     alternate: "[" prompt ("|" [prompt])+ "]"
    ///     plain: /([^\\\[\]():|]|\\.)+/
    /// A bracket that opens no valid construct is text at the top level only.
    struct Parser {
        let s: [Unicode.Scalar]
        var i = 0

        init(_ scalars: [Unicode.Scalar]) { s = scalars }

        mutating func parseStart() -> [Node]? {
            var nodes: [Node] = []
            while i < s.count {
                let start = i
                if let prompt = parsePrompt(), i > start {
                    nodes += prompt
                    continue
                }
                i = start
                // What no construct took: a literal bracket or colon; `|` or a lone `\` fail the whole prompt.
                guard "[]():".unicodeScalars.contains(s[i]) else { return nil }
                nodes.append(.text(String(s[i])))
                i += 1
            }
            return nodes
        }

        /// A prompt: stops before `:` `|` `]` `)`; nil when a construct inside it fails.
        mutating func parsePrompt() -> [Node]? {
            var nodes: [Node] = []
            var text = String.UnicodeScalarView()
            func flush() {
                if !text.isEmpty { nodes.append(.text(String(text))) }
                text = String.UnicodeScalarView()
            }
            while i < s.count {
                let c = s[i]
                if c == "\\" {
                    guard i + 1 < s.count else { return nil }
                    text.append(c)
                    text.append(s[i + 1])
                    i += 2
                } else if c == "(" || c == "[" {
                    // A bracket that opens nothing valid ends the prompt (the top level takes it as text).
                    let start = i
                    guard let construct = c == "(" ? parseRound() : parseSquare() else {
                        i = start
                        break
                    }
                    flush()
                    nodes += construct
                } else if ":|])".unicodeScalars.contains(c) {
                    break
                } else {
                    text.append(c)
                    i += 1
                }
            }
            flush()
            return nodes
        }

        mutating func parseRound() -> [Node]? {
            i += 1
            guard let first = parsePrompt(), i < s.count else { return nil }
            if s[i] == ")" {
                i += 1
                return [.text("(")] + first + [.text(")")]
            }
            guard s[i] == ":" else { return nil }
            i += 1
            guard let second = parsePrompt(), i < s.count, s[i] == ")" else { return nil }
            i += 1
            return [.text("(")] + first + [.text(":")] + second + [.text(")")]
        }

        mutating func parseSquare() -> [Node]? {
            i += 1
            guard let first = parsePrompt(), i < s.count else { return nil }
            switch s[i] {
            case "]":
                i += 1
                return [.text("[")] + first + [.text("]")]
            case "|":
                var options = [first]
                while i < s.count, s[i] == "|" {
                    i += 1
                    guard let option = parsePrompt() else { return nil }
                    options.append(option)
                }
                guard i < s.count, s[i] == "]" else { return nil }
                i += 1
                return [.alternate(options)]
            case ":":
                i += 1
                if let when = number(thenClose: true) { return [.scheduled(before: [], after: first, when: when)] }
                guard let second = parsePrompt(), i < s.count, s[i] == ":" else { return nil }
                i += 1
                guard let when = number(thenClose: true) else { return nil }
                return [.scheduled(before: first, after: second, when: when)]
            default:
                return nil
            }
        }

        /// `[WHITESPACE] SIGNED_NUMBER [WHITESPACE] "]"` from here: the number, with `i` past the `]`.
        mutating func number(thenClose: Bool) -> String? {
            var j = i
            while j < s.count, s[j].properties.isWhitespace { j += 1 }
            let start = j
            if j < s.count, s[j] == "+" || s[j] == "-" { j += 1 }
            func digits(_ k: inout Int) -> Int {
                let from = k
                while k < s.count, ("0"..."9").contains(s[k]) { k += 1 }
                return k - from
            }
            let whole = digits(&j)
            var fraction = 0
            if j < s.count, s[j] == "." {
                j += 1
                fraction = digits(&j)
            }
            guard whole > 0 || fraction > 0 else { return nil }
            if j < s.count, s[j] == "e" || s[j] == "E" {
                var k = j + 1
                if k < s.count, s[k] == "+" || s[k] == "-" { k += 1 }
                if digits(&k) > 0 { j = k }
            }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: s[start..<j])
            while j < s.count, s[j].properties.isWhitespace { j += 1 }
            guard j < s.count, s[j] == "]" else { return nil }
            i = j + 1
            return String(view)
        }
    }
}
