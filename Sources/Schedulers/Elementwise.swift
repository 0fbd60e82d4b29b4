/// Element-wise maps over equally long float arrays, writing straight into
/// the result's storage (no per-element allocation). The closures spell out
/// diffusers' tensor expressions one float32 operation at a time: Swift
/// neither fuses nor reorders them, so each rounds exactly where torch's
/// separate kernels round.
enum Elementwise {
    @inline(__always)
    static func map(_ a: [Float], _ f: (Float) -> Float) -> [Float] {
        [Float](unsafeUninitializedCapacity: a.count) { out, initialized in
            a.withUnsafeBufferPointer { a in
                for i in 0..<a.count { out[i] = f(a[i]) }
            }
            initialized = a.count
        }
    }

    @inline(__always)
    static func map(_ a: [Float], _ b: [Float], _ f: (Float, Float) -> Float) -> [Float] {
        precondition(a.count == b.count, "element counts differ: \(a.count) vs \(b.count)")
        return [Float](unsafeUninitializedCapacity: a.count) { out, initialized in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    for i in 0..<a.count { out[i] = f(a[i], b[i]) }
                }
            }
            initialized = a.count
        }
    }

    @inline(__always)
    static func map(_ a: [Float], _ b: [Float], _ c: [Float], _ f: (Float, Float, Float) -> Float) -> [Float] {
        precondition(a.count == b.count && a.count == c.count,
                     "element counts differ: \(a.count), \(b.count), \(c.count)")
        return [Float](unsafeUninitializedCapacity: a.count) { out, initialized in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeBufferPointer { c in
                        for i in 0..<a.count { out[i] = f(a[i], b[i], c[i]) }
                    }
                }
            }
            initialized = a.count
        }
    }

    /// `x.clamp(-limit, limit)`.
    @inline(__always)
    static func clamp(_ x: Float, _ limit: Float) -> Float {
        min(max(x, -limit), limit)
    }
}
