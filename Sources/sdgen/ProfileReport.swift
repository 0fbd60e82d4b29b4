import Pipeline
import TensorCore

/// `--profile`'s tables: time per op kind, then the kernels that took the
/// most, with the rate a matrix product reached.
enum ProfileReport {
    /// Entries listed after the per-kind table.
    static let topEntries = 25

    static func render(_ title: String, _ profile: OpProfile, markdown: Bool) -> String {
        guard !profile.entries.isEmpty else { return "\(title): nothing timed (clock: \(profile.clock))" }
        let total = profile.totalSeconds
        func ms(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1000) }
        func share(_ seconds: Double) -> String { String(format: "%.1f%%", 100 * seconds / max(total, 1e-12)) }

        var kinds = TextTable(header: ["op kind", "ops", "ms", "share"])
        for (kind, count, seconds) in profile.byKind {
            kinds.append([kind.rawValue, "\(count)", ms(seconds), share(seconds)])
        }
        kinds.append(["all", "\(profile.entries.reduce(0) { $0 + $1.count })", ms(total), "100%"])

        var top = TextTable(header: ["kernel", "kind", "count", "ms", "share", "GFLOP/s"])
        for entry in profile.entries.prefix(topEntries) {
            let rate = entry.flops > 0 && entry.seconds > 0 ? String(format: "%.0f", entry.flops / entry.seconds / 1e9) : ""
            top.append([entry.label, entry.kind.rawValue, "\(entry.count)", ms(entry.seconds), share(entry.seconds), rate])
        }
        return """
            \(title) (\(profile.clock)):
            \(kinds.render(markdown: markdown))

            \(top.render(markdown: markdown))
            """
    }
}
