/// The shape arithmetic of concatenation, shared by every backend: inputs
/// are `outer` blocks of `shape[axis] · inner` elements, laid side by side.
public struct ConcatLayout: Sendable, Equatable {
    public let axis: Int
    public let shape: [Int]
    public let outer: Int
    public let inner: Int

    public init(_ shapes: [[Int]], axis rawAxis: Int) {
        let first = shapes[0]
        let axis = rawAxis < 0 ? rawAxis + first.count : rawAxis
        for s in shapes {
            precondition(s.count == first.count && s[..<axis] == first[..<axis] && s[(axis + 1)...] == first[(axis + 1)...],
                         "concat: \(s) does not fit \(first) along axis \(axis)")
        }
        var shape = first
        shape[axis] = shapes.map { $0[axis] }.reduce(0, +)
        self.axis = axis
        self.shape = shape
        outer = first[..<axis].reduce(1, *)
        inner = first[(axis + 1)...].reduce(1, *)
    }
}
