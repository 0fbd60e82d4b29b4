/// The size of one image's latents: channels × height × width, NCHW as
/// torch draws them and the schedulers step them.
public struct LatentShape: Sendable, Equatable {
    public let channels: Int
    public let height: Int
    public let width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    public var count: Int { channels * height * width }
}
