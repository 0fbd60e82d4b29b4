/// What a backend with memory of its own (a GPU) holds: its capacity and
/// what sdgen has allocated there, for admission before a run and the
/// peak in the summary line. Host backends have none (their memory is the
/// process's; see ProcessMemory).
public struct DeviceMemory: Sendable, Equatable {
    /// The device-local heap sdgen allocates from.
    public let capacityBytes: Int
    /// Bytes allocated now (tensors in use and the pool's free lists), and the most at once.
    public let allocatedBytes: Int
    public let peakBytes: Int
    /// The most bytes one kernel binding spans: an op on a larger tensor
    /// must split it, and ops that cannot are refused before the run.
    public let bindingLimitBytes: Int

    public init(capacityBytes: Int, allocatedBytes: Int, peakBytes: Int, bindingLimitBytes: Int) {
        (self.capacityBytes, self.allocatedBytes, self.peakBytes, self.bindingLimitBytes)
            = (capacityBytes, allocatedBytes, peakBytes, bindingLimitBytes)
    }
}
