import Foundation
import Prometheus

/// What `/metrics` exposes in Prometheus's text format: the queue, jobs by
/// outcome, step and job time, and HTTP answers by status.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let queueLength: Gauge
    private let running: Gauge
    private let stepSeconds: ValueHistogram
    private let jobSeconds: ValueHistogram

    private static func name(_ name: String, unit: String = "", _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "sdgen", metricName: name, unitName: unit, helpText: help)
    }

    public init() {
        queueLength = registry.makeGauge(descriptor: Self.name("queue_length", "Jobs waiting for their turn."))
        running = registry.makeGauge(descriptor: Self.name("jobs_running", "Jobs running now (0 or 1)."))
        stepSeconds = registry.makeValueHistogram(
            descriptor: Self.name("step", unit: "seconds", "Seconds per sampling step (one UNet evaluation)."),
            buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30])
        jobSeconds = registry.makeValueHistogram(
            descriptor: Self.name("job", unit: "seconds", "Seconds from a job's start to its answer, queueing excluded."),
            buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800])
    }

    func queue(waiting: Int, running isRunning: Bool) {
        queueLength.set(to: Double(waiting))
        running.set(to: isRunning ? 1 : 0)
    }

    func step(seconds: Double) { stepSeconds.record(seconds) }

    /// A finished job: "completed", "interrupted", "failed", "cancelled", "refused".
    func job(_ kind: String, outcome: String, seconds: Double? = nil) {
        registry.makeCounter(descriptor: Self.name("jobs", unit: "total", "Jobs by kind and outcome."),
                             labels: [("kind", kind), ("outcome", outcome)]).increment()
        if let seconds { jobSeconds.record(seconds) }
    }

    /// An HTTP answer, by status (the errors are those ≥ 400).
    func response(status: Int) {
        registry.makeCounter(descriptor: Self.name("http_responses", unit: "total", "HTTP answers by status code."),
                             labels: [("status", "\(status)")]).increment()
    }

    public var text: String { registry.emitToString() }
}
