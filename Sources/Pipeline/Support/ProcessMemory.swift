import Foundation

/// The process's resident memory, from /proc (Linux).
public enum ProcessMemory {
    /// Peak resident set size in bytes (VmHWM), or nil where /proc is absent.
    public static var peakResidentBytes: Int? { statusField("VmHWM") }
    public static var residentBytes: Int? { statusField("VmRSS") }

    private static func statusField(_ name: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return bytes(of: name, inStatus: status)
    }

    /// A "Name:  value kB" field of /proc/<pid>/status, in bytes.
    public static func bytes(of name: String, inStatus status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            // "VmHWM:\t 123456 kB": the kernel pads to 8 digits with spaces, so from 10 GB on
            // a tab alone separates the number.
            let digits = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }
            if let kilobytes = digits.first { return kilobytes * 1024 }
        }
        return nil
    }

    /// "1.23 GB" style, for reports.
    public static func format(_ bytes: Int?) -> String {
        guard let bytes else { return "n/a" }
        return String(format: "%.2f GB", Double(bytes) / 1e9)
    }
}
