import Foundation

/// Jobs run one at a time, in arrival order (one loaded model, one set of
/// buffers). At most `limit` wait; one more is refused (503) rather than
/// held. A waiting job whose client went away is dropped from the queue;
/// after `shutDown` every waiting job is refused and no new one is taken.
public actor JobQueue {
    public enum Refusal: Error, Equatable {
        /// `limit` jobs wait already; the running one needs about `secondsLeft`
        /// more (nil before its first step).
        case full(limit: Int, secondsLeft: Double?)
        case cancelled
        case shuttingDown
    }

    public nonisolated let limit: Int
    private var waiting: [(job: Job, turn: CheckedContinuation<Void, any Error>)] = []
    private(set) var running: Job?
    private var isShutDown = false
    private var nextID = 1
    /// Called whenever the number of waiting jobs changes (metrics).
    private let onChange: @Sendable (_ waiting: Int, _ running: Bool) -> Void

    public init(limit: Int, onChange: @escaping @Sendable (Int, Bool) -> Void = { _, _ in }) {
        self.limit = limit
        self.onChange = onChange
    }

    public func makeJob(kind: String) -> Job {
        defer { nextID += 1 }
        return Job(id: nextID, kind: kind)
    }

    /// Waits for `job`'s turn, runs `work`, and gives the turn to the next job.
    public func run<T: Sendable>(_ job: Job, _ work: @Sendable () async throws -> T) async throws -> T {
        try await enter(job)
        defer { leave(job) }
        job.start()
        return try await work()
    }

    /// The running job and the waiting ones, in order.
    public var snapshot: (running: Job?, waiting: [Job]) { (running, waiting.map(\.job)) }

    /// Drops `job` if it is waiting (its client went away).
    public func drop(_ job: Job) {
        guard let index = waiting.firstIndex(where: { $0.job === job }) else { return }
        waiting.remove(at: index).turn.resume(throwing: Refusal.cancelled)
        report()
    }

    /// Refuses every waiting job and every later one; the running job is cancelled.
    public func shutDown() {
        isShutDown = true
        running?.cancel()
        for entry in waiting { entry.turn.resume(throwing: Refusal.shuttingDown) }
        waiting.removeAll()
        report()
    }

    private func enter(_ job: Job) async throws {
        guard !isShutDown else { throw Refusal.shuttingDown }
        if job.cancellation.isCancelled { throw Refusal.cancelled }
        if running == nil && waiting.isEmpty {
            running = job
            report()
            return
        }
        guard waiting.count < limit else { throw Refusal.full(limit: limit, secondsLeft: running?.progress.secondsLeft) }
        try await withCheckedThrowingContinuation { turn in
            waiting.append((job, turn))
            report()
        }
    }

    private func leave(_ job: Job) {
        guard running === job else { return }
        running = nil
        if !waiting.isEmpty {
            let next = waiting.removeFirst()
            running = next.job
            next.turn.resume()
        }
        report()
    }

    private func report() { onChange(waiting.count, running != nil) }
}
