import Dispatch
import Foundation
import HubDownload

/// Shows a download on stderr: a line per finished file, and on a terminal a
/// progress bar (bytes, rate, ETA) redrawn at most ten times a second.
/// Events arrive from the downloading thread and URLSession's queue.
final class DownloadReporter: @unchecked Sendable {
    private let lock = NSLock()
    private var progress = DownloadProgress(totalBytes: 0)
    private var sources: [String: FileSource] = [:]
    private var currentFile = ""
    private var lastDraw = -1.0
    private var barShown = false
    private let width: Int

    init() {
        var size = winsize()
        width = ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col >= 40 ? Int(size.ws_col) - 1 : 99
    }

    var handle: @Sendable (DownloadEvent) -> Void {
        { [self] event in lock.withLock { self.receive(event) } }
    }

    /// A line above the bar.
    func note(_ text: String) {
        lock.withLock { print(text) }
    }

    /// Removes the bar.
    func finish() {
        lock.withLock {
            if barShown { Progress.clear() }
            barShown = false
        }
    }

    private func receive(_ event: DownloadEvent) {
        switch event {
        case .planned(_, let files, let fromCache):
            progress = DownloadProgress(totalBytes: files.reduce(0) { $0 + $1.size })
            print("\(files.count) files, \(DownloadProgress.bytes(progress.totalBytes))\(fromCache ? " (cached snapshot)" : "")")
        case .fileStarted(let path, let size, let source):
            currentFile = path
            sources[path] = source
            switch source {
            case .present, .cache: progress.skipped(size)
            case .resumed(let from): progress.skipped(from)
            case .hub: break
            }
            draw(force: true)
        case .received(_, let bytes):
            progress.transferred(bytes, at: Self.now())
            draw(force: false)
        case .retrying(let path, let resumeAt, let delay, let reason):
            print("\(path): \(reason); retrying from byte \(resumeAt) in \(String(format: "%.0f", delay)) s")
        case .fileFinished(let path, let size):
            let how: String = switch sources[path] ?? .hub {
            case .hub: "downloaded"
            case .resumed(let from): "resumed at \(DownloadProgress.bytes(from))"
            case .cache: "from the Hugging Face cache"
            case .present: "already present"
            }
            print("  \(path)  \(DownloadProgress.bytes(size))  \(how)")
            draw(force: true)
        case .offline(let reason, let snapshot):
            print("the Hub is not available (\(reason)); using the cached snapshot \(snapshot)")
        }
    }

    /// A permanent line on stderr, the bar redrawn below it.
    private func print(_ text: String) {
        if barShown { Progress.clear() }
        FileHandle.standardError.write(Data((text + "\n").utf8))
        if barShown { Progress.line(progress.line(at: Self.now(), file: currentFile, width: width)) }
    }

    private func draw(force: Bool) {
        guard Progress.isTerminal, progress.totalBytes > 0 else { return }
        let now = Self.now()
        guard force || now - lastDraw >= 0.1 else { return }
        lastDraw = now
        barShown = true
        Progress.line(progress.line(at: now, file: currentFile, width: width))
    }

    private static func now() -> TimeInterval {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }
}
