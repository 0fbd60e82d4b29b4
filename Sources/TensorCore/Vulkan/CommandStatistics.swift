/// What the host did to keep a GPU fed: the commands it recorded and
/// submitted, how often it blocked on the GPU, and how long each took —
/// issue 17's host-side measure, which a CPU-emulated device (lavapipe)
/// reports as truly as a GPU does. Counters are cumulative; subtract two
/// readings for the work between them.
public struct CommandStatistics: Sendable, Codable, Equatable {
    public var dispatches = 0
    public var barriers = 0
    public var submissions = 0
    /// Times the host blocked on the GPU (a download, `synchronize`, or too
    /// much in flight).
    public var waits = 0
    /// Host time spent recording and submitting commands, waits excluded.
    public var recordingSeconds = 0.0
    /// Host time spent blocked on fences.
    public var waitSeconds = 0.0

    public init() {}

    /// The work between `earlier` and this reading.
    public func since(_ earlier: CommandStatistics) -> CommandStatistics {
        var d = CommandStatistics()
        d.dispatches = dispatches - earlier.dispatches
        d.barriers = barriers - earlier.barriers
        d.submissions = submissions - earlier.submissions
        d.waits = waits - earlier.waits
        d.recordingSeconds = recordingSeconds - earlier.recordingSeconds
        d.waitSeconds = waitSeconds - earlier.waitSeconds
        return d
    }
}
