import Foundation

/// `[#########-----------]  12/50  3.21 s/it  ETA 2:02` on stderr, redrawn in place.
enum ProgressBar {
    static func show(done: Int, total: Int, secondsPerStep: Double) {
        guard Progress.isTerminal else { return }
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let remaining = Int((Double(total - done) * secondsPerStep).rounded())
        Progress.line(String(format: "[%@] %3d/%d  %.2f s/it  ETA %d:%02d", bar, done, total, secondsPerStep,
                             remaining / 60, remaining % 60))
    }

    static func finish() { Progress.clear() }
}
