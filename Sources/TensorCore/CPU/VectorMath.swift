import Foundation

/// Lane count of the SIMD loops: one AVX2 register of f32.
typealias FloatVector = SIMD8<Float>
let vectorWidth = FloatVector.scalarCount

@inline(__always) func loadVector(_ p: UnsafePointer<Float>) -> FloatVector {
    UnsafeRawPointer(p).loadUnaligned(as: FloatVector.self)
}

@inline(__always) func storeVector(_ v: FloatVector, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: FloatVector.self)
}

/// e^x for eight lanes: Cody–Waite range reduction to r ∈ [-ln2/2, ln2/2] and a
/// degree-6 polynomial (relative error ≈ 2 ulp), exact enough for the softmax
/// while 10× faster than calling expf per element.
///
/// Rounding to an integer uses the 1.5·2²³ trick rather than SIMD `rounded`
/// and integer conversion, which Swift lowers to per-lane library calls.
@inline(__always) func vectorExp(_ x: FloatVector) -> FloatVector {
    let clamped = pointwiseMinimum(pointwiseMaximum(x, FloatVector(repeating: -87.3)), FloatVector(repeating: 88.3))
    let magic = FloatVector(repeating: 12_582_912)  // 1.5 · 2²³
    let shifted = magic.addingProduct(clamped, FloatVector(repeating: 1.442695040888963))
    let n = shifted - magic
    // ln 2 split in a high part exact in f32 and a low correction.
    var r = clamped.addingProduct(n, FloatVector(repeating: -0.693145751953125))
    r = r.addingProduct(n, FloatVector(repeating: -1.428606765330187e-06))
    var p = FloatVector(repeating: 1.0 / 720)
    p = FloatVector(repeating: 1.0 / 120).addingProduct(p, r)
    p = FloatVector(repeating: 1.0 / 24).addingProduct(p, r)
    p = FloatVector(repeating: 1.0 / 6).addingProduct(p, r)
    p = FloatVector(repeating: 0.5).addingProduct(p, r)
    p = FloatVector(repeating: 1).addingProduct(p, r)
    p = FloatVector(repeating: 1).addingProduct(p, r)
    // 2^n through the exponent bits: the low mantissa bits of `shifted` hold n.
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: FloatVector.self)
    return (p * scale).replacing(with: 0, where: x .< -87.3)
}

/// Lane-wise max/min without NaN bookkeeping (inputs here are never NaN
/// where it would matter), compiled to vmaxps/vminps.
@inline(__always) func pointwiseMaximum(_ a: FloatVector, _ b: FloatVector) -> FloatVector {
    a.replacing(with: b, where: b .> a)
}

@inline(__always) func pointwiseMinimum(_ a: FloatVector, _ b: FloatVector) -> FloatVector {
    a.replacing(with: b, where: b .< a)
}

