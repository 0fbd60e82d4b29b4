import Dispatch

/// Wall-clock timing on the monotonic clock.
public struct Stopwatch: Sendable {
    private let start = DispatchTime.now().uptimeNanoseconds

    public init() {}

    public var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    public var milliseconds: Double { seconds * 1000 }
}

/// Summary statistics of repeated timings, as benchmarks report them.
public struct TimingSummary: Sendable, Codable, Equatable {
    public let samples: [Double]

    public init(_ samples: [Double]) {
        precondition(!samples.isEmpty, "no timing samples")
        self.samples = samples
    }

    public var minimum: Double { samples.min()! }
    public var mean: Double { samples.reduce(0, +) / Double(samples.count) }
    public var median: Double {
        let sorted = samples.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
