/// The AUTOMATIC1111 web UI's "infotext" format, the de-facto standard for
/// Stable Diffusion parameters in PNG files. Mirrors, step by step,
/// `create_infotext` (modules/processing.py), `quote`/`unquote` and
/// `parse_generation_parameters` (modules/infotext_utils.py) of
/// stable-diffusion-webui, so that files read the same in both.
enum A1111Infotext {
    /// `f"{prompt}{negative}\n{params}".strip()`, where `negative` is
    /// `"\nNegative prompt: …"` only for a non-empty negative prompt and
    /// `params` is `", ".join(f"{k}: {quote(v)}")`.
    static func render(prompt: String, negativePrompt: String,
                       fields: [GenerationParameters.Field]) -> String {
        let parameterLine = fields.map { "\($0.key): \(quote($0.value))" }.joined(separator: ", ")
        let negative = negativePrompt.isEmpty ? "" : "\nNegative prompt: \(negativePrompt)"
        return strip("\(prompt)\(negative)\n\(parameterLine)")
    }

    struct Parsed {
        var prompt: String
        var negativePrompt: String
        var fields: [GenerationParameters.Field]
    }

    /// A1111's reading: the last line is the parameter line if it holds at
    /// least three `Key: value` matches; the lines before it are the prompt,
    /// each trimmed, until one starting `Negative prompt:` switches to the
    /// negative prompt.
    static func parse(_ text: String) -> Parsed {
        var lines = splitLines(strip(text))
        let lastLine = lines.removeLast()
        var fields = parameterMatches(in: lastLine)
        if fields.count < 3 {
            lines.append(lastLine)
            fields = []
        }

        var prompt = ""
        var negativePrompt = ""
        var doneWithPrompt = false
        for rawLine in lines {
            var line = strip(rawLine)
            if line.hasPrefix("Negative prompt:") {
                doneWithPrompt = true
                line = strip(String(line.dropFirst("Negative prompt:".count)))
            }
            if doneWithPrompt {
                negativePrompt += (negativePrompt.isEmpty ? "" : "\n") + line
            } else {
                prompt += (prompt.isEmpty ? "" : "\n") + line
            }
        }
        return Parsed(prompt: prompt, negativePrompt: negativePrompt, fields: fields)
    }

    /// `re_param.findall(line)` with A1111's
    /// `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)`, values
    /// unquoted — matched by hand in linear time, on Unicode scalars as
    /// Python's `re` reads a str. A backtracking regex retries every start of
    /// a line with no `:` across the rest of it: a 16 KB prompt read as a
    /// parameter line took 43 s, and the server's `png-info` stalled on it.
    ///
    /// At a start, the pattern has one way to match: `\s*` then the key's
    /// class run are maximal (neither can end where a `:` could follow
    /// instead), and the quoted value's body stops at its first unescaped `"`
    /// (its only way to close), else the bare value runs to the next comma.
    /// So the end of each position's class run and of each position's quoted
    /// body, computed once from the right, decide every start in O(1).
    static func parameterMatches(in line: String) -> [GenerationParameters.Field] {
        let c = Array(line.unicodeScalars), n = c.count
        // Python's \w on a str: "_" and str.isalnum (letters L*, and numerals).
        func isWord(_ s: Unicode.Scalar) -> Bool {
            switch s.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
            default: s == "_" || s.properties.numericType != nil
            }
        }
        // Python's str.isspace: White_Space plus the information separators.
        func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace || (0x1C...0x1F).contains(s.value) }
        func inKey(_ s: Unicode.Scalar) -> Bool { isWord(s) || s == " " || s == "-" || s == "/" }
        // runEnd[i] / spaceEnd[i]: where the run of key / space characters from i ends.
        var runEnd = [Int](repeating: n, count: n + 1), spaceEnd = runEnd
        // bodyStop[i]: where `(?:\\.|[^\\"])*` from i stops (`.` takes no newline).
        var bodyStop = [Int](repeating: n, count: n + 2)
        for i in stride(from: n - 1, through: 0, by: -1) {
            runEnd[i] = inKey(c[i]) ? runEnd[i + 1] : i
            spaceEnd[i] = isSpace(c[i]) ? spaceEnd[i + 1] : i
            if c[i] == "\\" {
                bodyStop[i] = i + 1 < n && c[i + 1] != "\n" ? bodyStop[i + 2] : i
            } else {
                bodyStop[i] = c[i] == "\"" ? i : bodyStop[i + 1]
            }
        }
        // `(?:,|$)` at p: a comma, the end, or a newline that ends the line.
        func endsValue(_ p: Int) -> Int? {
            if p < n && c[p] == "," { return p + 1 }
            return p == n || (p == n - 1 && c[p] == "\n") ? p : nil
        }
        func text(_ range: Range<Int>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: c[range])
            return String(view)
        }
        var fields: [GenerationParameters.Field] = []
        var start = 0
        while start <= n {
            let p = spaceEnd[start]
            let keyEnd = p < n && isWord(c[p]) ? runEnd[p] : p
            guard keyEnd - p >= 2, keyEnd < n, c[keyEnd] == ":" else {
                start += 1
                continue
            }
            let v = spaceEnd[keyEnd + 1]
            var valueEnd: Int, next: Int
            if v < n, c[v] == "\"", case let close = bodyStop[v + 1], close > v + 1, close < n, c[close] == "\"",
               let after = endsValue(close + 1) {
                (valueEnd, next) = (close + 1, after)
            } else {
                valueEnd = v
                while valueEnd < n && c[valueEnd] != "," { valueEnd += 1 }
                next = endsValue(valueEnd) ?? valueEnd
            }
            fields.append(GenerationParameters.Field(key: text(p..<keyEnd), value: unquote(text(v..<valueEnd))))
            // findall resumes at the match's end, one further past an empty match.
            start = next > start ? next : start + 1
        }
        return fields
    }

    /// A1111's `quote`: a value holding `,`, `:` or a newline becomes a JSON
    /// string (`json.dumps(v, ensure_ascii=False)`), so the parameter line
    /// still splits at the right commas. One addition: a value that starts
    /// and ends with `"` is quoted too — A1111 leaves it bare and then its own
    /// `unquote` strips the quotes on reading; quoted, it reads back intact
    /// in A1111 as well.
    static func quote(_ value: String) -> String {
        let scalars = value.unicodeScalars
        let needsQuotes = scalars.contains(where: { $0 == "," || $0 == ":" || $0 == "\n" })
            || (scalars.count >= 2 && scalars.first == "\"" && scalars.last == "\"")
        guard needsQuotes else { return value }
        var quoted = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            case "\u{08}": quoted += "\\b"
            case "\u{0C}": quoted += "\\f"
            case _ where scalar.value < 0x20:
                // Python writes the remaining control characters as \u00xx, lower-case hex.
                let hex = String(scalar.value, radix: 16)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    /// A1111's `unquote`: a value in double quotes is decoded as a JSON
    /// string; anything that is not valid JSON is kept as written.
    static func unquote(_ value: String) -> String {
        let scalars = Array(value.unicodeScalars)
        guard scalars.count >= 2, scalars.first == "\"", scalars.last == "\"" else { return value }
        return decodeJSONString(scalars) ?? value
    }

    /// Decodes one complete JSON string literal (quotes included), the way
    /// Python's strict `json.loads` does; nil where that would raise.
    private static func decodeJSONString(_ scalars: [Unicode.Scalar]) -> String? {
        var result = String.UnicodeScalarView()
        var index = 1
        let end = scalars.count - 1  // the closing quote
        func hex4(at position: Int) -> UInt32? {
            guard position + 4 <= end else { return nil }
            var value: UInt32 = 0
            for scalar in scalars[position..<position + 4] {
                guard let digit = Character(scalar).hexDigitValue else { return nil }
                value = value * 16 + UInt32(digit)
            }
            return value
        }
        while index < end {
            let scalar = scalars[index]
            if scalar == "\"" || scalar.value < 0x20 { return nil }  // unescaped quote or control character
            guard scalar == "\\" else {
                result.append(scalar)
                index += 1
                continue
            }
            guard index + 1 < end else { return nil }
            let escape = scalars[index + 1]
            index += 2
            switch escape {
            case "\"": result.append("\"")
            case "\\": result.append("\\")
            case "/": result.append("/")
            case "b": result.append("\u{08}")
            case "f": result.append("\u{0C}")
            case "n": result.append("\n")
            case "r": result.append("\r")
            case "t": result.append("\t")
            case "u":
                guard let unit = hex4(at: index) else { return nil }
                index += 4
                var code = unit
                // A surrogate pair written as two escapes is one character.
                if (0xD800..<0xDC00).contains(unit), index + 1 < end, scalars[index] == "\\",
                   scalars[index + 1] == "u", let low = hex4(at: index + 2), (0xDC00..<0xE000).contains(low) {
                    code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                // Python keeps a lone surrogate; Swift strings cannot hold one.
                result.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default:
                return nil
            }
        }
        return String(result)
    }

    /// Python's `str.strip()`: whitespace off both ends.
    static func strip(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    /// Python's `split("\n")`, on scalars: as Characters, "\r\n" is one
    /// grapheme that never equals "\n".
    private static func splitLines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
    }
}
