import TensorCore

/// The position-wise MLP of a transformer block: up-projection, activation,
/// down-projection. GEGLU's up-projection is twice as wide and gates itself.
public struct FeedForward: Sendable {
    public enum Kind: Sendable { case gelu, quickGelu, geglu }

    public let up: Linear
    public let down: Linear
    public let kind: Kind

    public init(up: Weights, down: Weights, width: Int, hidden: Int, kind: Kind) throws {
        self.up = try Linear(up, input: width, output: kind == .geglu ? 2 * hidden : hidden)
        self.down = try Linear(down, input: hidden, output: width)
        self.kind = kind
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = up(x)
        switch kind {
        case .gelu: return down(h.gelu())
        case .quickGelu: return down(h.quickGelu())
        case .geglu: return down(h.geglu())
        }
    }
}
