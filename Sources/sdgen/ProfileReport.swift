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

    /// One line on what the host did to feed a GPU for `what` (the recording
    /// is host time the GPU may wait on: at a step's start, or when the
    /// GPU outruns it).
    static func commands(_ what: String, _ c: CommandStatistics) -> String {
        String(format: "%@: %d dispatches recorded in %.2f ms of host time (%.1f µs each), %d submissions, "
               + "%d host waits (%.1f ms)", what, c.dispatches, c.recordingSeconds * 1000,
               c.recordingSeconds * 1e6 / Double(max(c.dispatches, 1)), c.submissions, c.waits, c.waitSeconds * 1000)
    }
}
