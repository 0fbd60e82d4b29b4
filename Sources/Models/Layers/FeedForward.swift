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

    /// Token by token, so a long input runs in blocks of rows where the
    /// backend bounds its intermediates (`Backend.rowBlocking`): SD 1.5's
    /// GEGLU at 64×64 with guidance is 84 MB wide, a block of 1366 tokens 14 MB.
    /// Every row's sums are the same either way. `residual` (the block's skip
    /// connection, x's shape) is added by the down-projection.
    public func callAsFunction(_ x: Tensor, adding residual: Tensor? = nil) -> Tensor {
        let width = x.dim(-1), rows = x.count / max(width, 1)
        let hiddenRowBytes = up.outputFeatures * MemoryLayout<Float>.size
        guard let budget = x.backend.rowBlocking, rows * hiddenRowBytes > budget.bytes else {
            return block(x, adding: residual)
        }
        // Equal blocks under the budget: filling each to the budget left a
        // remainder of a few rows (8192 = 5 × 1638 + 2) whose products still
        // stream every weight.
        let mostRows = max(budget.bytes / hiddenRowBytes, budget.minimumRows)
        let blockCount = (rows + mostRows - 1) / mostRows
        let blockRows = (rows + blockCount - 1) / blockCount
        let flat = x.reshaped([rows, width]), skip = residual?.reshaped([rows, width])
        let blocks = stride(from: 0, to: rows, by: blockRows).map { start in
            let range = start..<min(start + blockRows, rows)
            return block(flat.slice(rows: range), adding: skip?.slice(rows: range))
        }
        return Tensor.concat(blocks, axis: 0).reshaped(Array(x.shape.dropLast()) + [down.outputFeatures])
    }

    private func block(_ x: Tensor, adding residual: Tensor?) -> Tensor {
        switch kind {
        case .gelu: return down(up(x, activation: .gelu), adding: residual)
        case .quickGelu: return down(up(x, activation: .quickGelu), adding: residual)
        case .geglu: return down(up.gated(x), adding: residual)
        }
    }
}
