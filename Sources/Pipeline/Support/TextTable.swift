/// A table printed as aligned text for terminals or as Markdown for reports.
public struct TextTable: Sendable {
    public let header: [String]
    public private(set) var rows: [[String]] = []

    public init(header: [String]) {
        self.header = header
    }

    public mutating func append(_ row: [String]) {
        precondition(row.count == header.count, "row has \(row.count) cells, header \(header.count)")
        rows.append(row)
    }

    public func render(markdown: Bool) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { i, cell in
                // Numbers right-aligned, the first column (labels) left-aligned.
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 ? cell + pad : pad + cell
            }
            return markdown ? "| " + padded.joined(separator: " | ") + " |" : padded.joined(separator: "  ")
        }
        var lines = [line(header)]
        if markdown {
            lines.append("|" + widths.enumerated().map { i, w in
                i == 0 ? " " + String(repeating: "-", count: w) + " " : " " + String(repeating: "-", count: max(w - 1, 1)) + ": "
            }.joined(separator: "|") + "|")
        } else {
            lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        }
        lines += rows.map(line)
        return lines.joined(separator: "\n")
    }
}
