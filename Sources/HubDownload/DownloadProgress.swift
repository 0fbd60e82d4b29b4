import Foundation

/// Bytes done of a download, the rate over the last seconds, and the time left,
/// as one line of text for a terminal:
///
///     [#########-----------]  46%  1.02 GB / 2.20 GB  38.2 MB/s  ETA 0:31  unet/diffusion_pytorch_model.fp16.safetensors
public struct DownloadProgress: Sendable {
    public let totalBytes: Int64
    public private(set) var completedBytes: Int64 = 0
    /// The rate is measured over this many seconds of network transfer.
    public var window: TimeInterval = 8
    private var samples: [(time: TimeInterval, bytes: Int64)] = []
    private var transferredBytes: Int64 = 0

    public init(totalBytes: Int64) {
        self.totalBytes = max(0, totalBytes)
    }

    /// Bytes that arrived over the network at `time` (seconds, any monotonic origin).
    public mutating func transferred(_ bytes: Int64, at time: TimeInterval) {
        completedBytes += bytes
        transferredBytes += bytes
        samples.append((time, transferredBytes))
        // Keep one sample older than the window as the rate's base.
        while samples.count > 2, samples[1].time < time - window { samples.removeFirst() }
    }

    /// Bytes that needed no transfer (already present, from the cache, a resumed part).
    public mutating func skipped(_ bytes: Int64) {
        completedBytes += bytes
    }

    /// Bytes per second over the window, once there is a second of samples.
    public func rate(at time: TimeInterval) -> Double? {
        guard let first = samples.first, let last = samples.last else { return nil }
        let span = time - first.time
        guard span >= 1 else { return nil }
        return Double(last.bytes - first.bytes) / span
    }

    public func secondsLeft(at time: TimeInterval) -> TimeInterval? {
        guard let rate = rate(at: time), rate > 0 else { return nil }
        return Double(max(0, totalBytes - completedBytes)) / rate
    }

    /// The progress line, at most `width` characters.
    public func line(at time: TimeInterval, file: String, width: Int = 100) -> String {
        let fraction = totalBytes > 0 ? min(1, Double(completedBytes) / Double(totalBytes)) : 1
        let barWidth = 20
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]"
        let percent = String(format: "%3d%%", Int((fraction * 100).rounded(.down)))
        let rate = rate(at: time).map { Self.bytes(Int64($0)) + "/s" } ?? "--- MB/s"
        let eta = secondsLeft(at: time).map { "ETA " + Self.duration($0) } ?? "ETA --:--"
        let head = "\(bar) \(percent)  \(Self.bytes(completedBytes)) / \(Self.bytes(totalBytes))  \(rate)  \(eta)"
        let room = width - head.count - 2
        guard room >= 8 else { return String(head.prefix(max(0, width))) }
        return head + "  " + Self.shortened(file, to: room)
    }

    /// `unet/…fp16.safetensors`: the component stays, the middle goes.
    static func shortened(_ path: String, to room: Int) -> String {
        guard path.count > room else { return path }
        if let slash = path.firstIndex(of: "/") {
            let folder = path[...slash]
            if folder.count + 11 <= room { return folder + "…" + path.suffix(room - folder.count - 1) }
        }
        return "…" + path.suffix(room - 1)
    }

    /// Decimal units, as the Hub shows sizes: `512 B`, `3.4 kB`, `1.72 GB`.
    public static func bytes(_ count: Int64) -> String {
        let units = ["kB", "MB", "GB", "TB"]
        guard count >= 1000 else { return "\(count) B" }
        var value = Double(count) / 1000
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return String(format: value >= 100 ? "%.0f" : value >= 10 ? "%.1f" : "%.2f", value) + " " + units[unit]
    }

    /// `0:07`, `12:34`, `1:02:03`.
    public static func duration(_ seconds: TimeInterval) -> String {
        let total = seconds.isNaN ? 0 : Int(seconds.rounded(.up).clamped(to: 0...359_999))
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, secs) : String(format: "%d:%02d", minutes, secs)
    }
}

extension Comparable {
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
