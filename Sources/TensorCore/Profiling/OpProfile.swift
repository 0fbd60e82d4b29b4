import Foundation

/// Where a run's time went, op by op, for `--profile`: on the GPU from
/// timestamp queries around each dispatch, on the CPU from the host clock
/// around each op. Entries are labelled by kernel (and a matrix product's
/// shape), so the speed work can see which ones are far from the hardware.
public struct OpProfile: Sendable, Codable, Equatable {
    /// The op kinds `--profile` totals.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case convolutions, matrixProducts = "matrix products", attention, norms
        case elementwise = "element-wise", copies
    }

    public struct Entry: Sendable, Codable, Equatable {
        public let kind: Kind
        public let label: String
        public var count: Int
        public var seconds: Double
        /// Multiply-adds ×2 where the label is a matrix product's shape.
        public var flops: Double

        public init(kind: Kind, label: String, count: Int, seconds: Double, flops: Double = 0) {
            (self.kind, self.label, self.count, self.seconds, self.flops) = (kind, label, count, seconds, flops)
        }
    }

    /// What measured it: "GPU timestamps" or "host clock"; "none" for a backend that cannot.
    public let clock: String
    /// Largest first.
    public let entries: [Entry]

    public init(clock: String, entries: [Entry]) {
        self.clock = clock
        self.entries = entries.sorted { $0.seconds > $1.seconds }
    }

    public var totalSeconds: Double { entries.reduce(0) { $0 + $1.seconds } }

    /// Per kind, largest first: (kind, ops, seconds).
    public var byKind: [(kind: Kind, count: Int, seconds: Double)] {
        Kind.allCases.map { kind in
            let matching = entries.filter { $0.kind == kind }
            return (kind, matching.reduce(0) { $0 + $1.count }, matching.reduce(0) { $0 + $1.seconds })
        }
        .filter { $0.count > 0 }
        .sorted { $0.seconds > $1.seconds }
    }
}

/// Collects timings into an `OpProfile`; thread-safe. Nested ops (an op a
/// backend implements through another) are counted once, at the outermost.
public final class OpProfiler: @unchecked Sendable {
    private struct Key: Hashable { let kind: OpProfile.Kind; let label: String }
    private let lock = NSLock()
    private var totals: [Key: OpProfile.Entry] = [:]
    private var depth = 0

    public init() {}

    public func record(_ kind: OpProfile.Kind, _ label: String, seconds: Double, flops: Double = 0) {
        lock.lock()
        defer { lock.unlock() }
        let key = Key(kind: kind, label: label)
        var entry = totals[key] ?? OpProfile.Entry(kind: kind, label: label, count: 0, seconds: 0)
        entry.count += 1
        entry.seconds += seconds
        entry.flops += flops
        totals[key] = entry
    }

    /// Runs `body`, recording its host time unless it runs inside another timed op.
    public func time<R>(_ kind: OpProfile.Kind, _ label: @autoclosure () -> String, flops: Double = 0,
                        _ body: () -> R) -> R {
        lock.lock()
        depth += 1
        let outermost = depth == 1
        lock.unlock()
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        lock.lock()
        depth -= 1
        lock.unlock()
        if outermost { record(kind, label(), seconds: seconds, flops: flops) }
        return result
    }

    public func profile(clock: String) -> OpProfile {
        lock.lock()
        defer { lock.unlock() }
        return OpProfile(clock: clock, entries: Array(totals.values))
    }
}
