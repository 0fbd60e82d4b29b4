/// The three linear maps of Winograd's minimal filtering F(4×4, 3×3)
/// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015),
/// with interpolation points 0, ±1, ½, −2 and ∞:
///
///     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
///
/// for a 6×6 input window d, a 3×3 kernel g and a 4×4 output tile Y. Each map
/// is applied to rows and then to columns; every function here is the 1-D
/// map on six (or three) vectors of eight channels, so the channel loop of an
/// NHWC tensor is the SIMD loop.
///
/// The points are Barabasz et al.'s choice ("Error analysis and improving the
/// accuracy of Winograd convolution", 2020): swapping Lavin's +2 for ½ shrinks
/// the output transform's largest coefficients, which multiply the rounding
/// error of the 36 GEMMs; measured on a 2304-term convolution, the worst
/// error drops 3× against Lavin's points. Larger tiles (F(6×6, 3×3)) would
/// cut multiplications further but grow the error past the reference
/// tolerances.
enum Winograd {
    /// Output pixels per tile side, input window side, points per window.
    static let tile = 4, window = 6, points = 36

    /// Bᵀ·d on a column of six window values.
    @inline(__always)
    static func transformInput(_ d: UnsafePointer<FloatVector>, stride s: Int,
                               into r: UnsafeMutablePointer<FloatVector>, stride t: Int) {
        let d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s]
        let half = FloatVector(repeating: 0.5), threeHalves = FloatVector(repeating: 1.5)
        let two = FloatVector(repeating: 2)
        // Rows 1–4 share their terms in pairs: (p ± q) and (a + 2b, a − b/2).
        let a = d4 - d2, b = d3 - d1
        let p = a.addingProduct(d3, threeHalves), q = b.addingProduct(d2, threeHalves)
        r[0] = (d0 + d4).addingProduct(d3 - d1, threeHalves).addingProduct(d2, -two)
        r[t] = p + q
        r[2 * t] = p - q
        r[3 * t] = a.addingProduct(b, two)
        r[4 * t] = a.addingProduct(b, -half)
        r[5 * t] = (d1 + d5).addingProduct(d4 - d2, threeHalves).addingProduct(d3, -two)
    }

    /// Aᵀ·m on a column of six products, giving four outputs.
    @inline(__always)
    static func transformOutput(_ m: UnsafePointer<FloatVector>, stride s: Int,
                                into r: UnsafeMutablePointer<FloatVector>, stride t: Int) {
        let m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s], m5 = m[5 * s]
        let sum12 = m1 + m2, diff12 = m1 - m2
        r[0] = m0 + sum12 + m3 + m4
        r[t] = diff12.addingProduct(m3, FloatVector(repeating: 0.5)).addingProduct(m4, FloatVector(repeating: -2))
        r[2 * t] = sum12.addingProduct(m3, FloatVector(repeating: 0.25)).addingProduct(m4, FloatVector(repeating: 4))
        r[3 * t] = (diff12 + m5).addingProduct(m3, FloatVector(repeating: 0.125))
            .addingProduct(m4, FloatVector(repeating: -8))
    }

    /// G·g on a column of three kernel taps, giving six points.
    @inline(__always)
    static func transformKernel(_ g0: FloatVector, _ g1: FloatVector, _ g2: FloatVector,
                                into r: UnsafeMutablePointer<FloatVector>, stride t: Int) {
        for i in 0..<window { r[i * t] = kernelPoint(i, g0, g1, g2) }
    }

    /// Point `i` of G·g alone (row `i` of G against the three taps): what a
    /// transform that needs one row of G g Gᵀ computes its columns with.
    @inline(__always)
    static func kernelPoint(_ i: Int, _ g0: FloatVector, _ g1: FloatVector, _ g2: FloatVector) -> FloatVector {
        switch i {
        case 0: return g0
        case 1: return (g0 + g2 + g1) * FloatVector(repeating: 1.0 / 3)
        case 2: return (g1 - (g0 + g2)) * FloatVector(repeating: 1.0 / 3)
        case 3:
            return g0.addingProduct(g1, FloatVector(repeating: 0.5)).addingProduct(g2, FloatVector(repeating: 0.25))
                * FloatVector(repeating: -16.0 / 15)
        case 4:
            return g0.addingProduct(g1, FloatVector(repeating: -2)).addingProduct(g2, FloatVector(repeating: 4))
                * FloatVector(repeating: 1.0 / 15)
        default: return g2
        }
    }
}
