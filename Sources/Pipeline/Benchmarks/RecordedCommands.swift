import TensorCore

/// What the host recorded, submitted and waited for to run `body` on a GPU;
/// nil on a backend that records no commands (the CPU).
func recordedCommands(on backend: any Backend, during body: () throws -> Void) rethrows -> CommandStatistics? {
    let gpu = backend as? VulkanBackend
    let before = gpu?.commandStatistics
    try body()
    return before.flatMap { gpu?.commandStatistics.since($0) }
}
