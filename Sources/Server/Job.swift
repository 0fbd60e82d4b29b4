import Foundation
import ImageIO
import Pipeline

/// One queued request: what it runs, how to stop it (cancel: no answer
/// needed; interrupt/skip: A1111's early end that keeps the image), and its
/// progress as `/sdapi/v1/progress` reports it.
public final class Job: @unchecked Sendable {
    public let id: Int
    /// "txt2img", "img2img", "load model".
    public let kind: String
    public let cancellation = CancellationToken()
    public let interruption = SamplingInterruption()

    private let lock = NSLock()
    private var state = Progress()

    /// A snapshot of where the job is.
    public struct Progress: Sendable {
        public var started: Date?
        /// Images the job makes, the current one (0-based), its step and steps.
        public var imageCount = 1
        public var image = 0
        public var step = 0
        public var steps = 0
        public var skipped = false
        public var interrupted = false
        /// The latest latents, for a live preview, and the tiny autoencoder's preview when there is one.
        public var latents: (values: [Float], shape: LatentShape)?
        public var preview: RGBImage?

        /// Done fraction over all of the job's images, as A1111 computes it.
        public var fraction: Double {
            guard steps > 0, imageCount > 0 else { return 0 }
            return min(1, (Double(image) + Double(step) / Double(steps)) / Double(imageCount))
        }

        /// Seconds the job still needs at the rate it has gone so far (A1111's
        /// `eta_relative`), or nil before its first step.
        public var secondsLeft: Double? {
            guard let started, fraction > 0 else { return nil }
            let elapsed = Date().timeIntervalSince(started)
            return elapsed / fraction - elapsed
        }
    }

    init(id: Int, kind: String) {
        self.id = id
        self.kind = kind
    }

    public var progress: Progress { lock.withLock { state } }

    func update(_ change: (inout Progress) -> Void) { lock.withLock { change(&state) } }

    /// Records a generation event.
    func record(_ event: GenerationEvent) {
        update { state in
            switch event {
            case let .started(image, count, _):
                state.image = image
                state.imageCount = count
                state.step = 0
                state.latents = nil
                state.preview = nil
            case let .step(step):
                state.step = step.step
                state.steps = step.steps
                state.latents = (step.latents, step.shape)
            case let .preview(_, _, image):
                state.preview = image
            case .decoding, .finished:
                break
            }
        }
    }

    func start() { update { $0.started = Date() } }

    public func interrupt() {
        update { $0.interrupted = true }
        interruption.interrupt()
    }

    public func skip() {
        update { $0.skipped = true }
        interruption.skip()
    }

    public func cancel() { cancellation.cancel() }
}
