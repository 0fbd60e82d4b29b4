/// Single-precision log and sin/cos as torch's AVX2 randn kernel computes
/// them: the Cephes-derived polynomial approximations of ATen's
/// `avx_mathfun.h` (`log256_ps`, `sincos256_ps`), one lane at a time.
///
/// These are not libm's results (they differ in the last bits), and torch's
/// x86-64 build lets the compiler contract their multiply-adds into FMAs, so
/// the same contractions are spelled out here with `addingProduct`. Which
/// products are fused was settled by comparing with torch bit for bit over
/// tens of thousands of values (Tests/Fixtures/rng).
enum CephesFloatMath {
    private static let sqrtHalf: Float = 0.707106781186547524
    private static let logCoefficients: [Float] = [
        7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
        -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
    ]
    private static let logQ1: Float = -2.12194440e-4
    private static let logQ2: Float = 0.693359375

    /// Natural log for positive normal inputs (the randn kernel feeds it (0, 1]).
    static func log(_ input: Float) -> Float {
        // Split x = m · 2^e with m in [0.5, 1).
        let clamped = max(input, Float.leastNormalMagnitude)
        let bits = clamped.bitPattern
        var exponent = Float(Int32(bitPattern: bits >> 23) - 0x7F) + 1
        var x = Float(bitPattern: (bits & ~UInt32(0x7F80_0000)) | Float(0.5).bitPattern)
        // Below sqrt(1/2), use 2m - 1 and e - 1 so that x stays near 0.
        let small = x < sqrtHalf
        let addend: Float = small ? x : 0
        x = x - 1
        if small { exponent = exponent - 1 }
        x = x + addend

        let z = x * x
        var y = logCoefficients[0]
        for c in logCoefficients.dropFirst() { y = c.addingProduct(y, x) }
        y = y * x
        y = (exponent * logQ1).addingProduct(y, z)
        y = y - z * 0.5
        x = x + y
        return x.addingProduct(exponent, logQ2)
    }

    private static let fourOverPi: Float = 1.27323954473516
    private static let minusDP1: Float = -0.78515625
    private static let minusDP2: Float = -2.4187564849853515625e-4
    private static let minusDP3: Float = -3.77489497744594108e-8
    private static let cosCoefficients: (Float, Float, Float) = (2.443315711809948e-005, -1.388731625493765e-003, 4.166664568298827e-002)
    private static let sinCoefficients: (Float, Float, Float) = (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)

    /// sin and cos together, for |x| well below 8192.
    static func sinCos(_ input: Float) -> (sin: Float, cos: Float) {
        var x = abs(input)
        // Octant j (made even) and the reduced argument x - j π/4, with π/4
        // split in three parts for extra precision.
        var j = Int32(x * fourOverPi)
        j = (j &+ 1) & ~1
        let y = Float(j)
        x = x.addingProduct(y, minusDP1)
        x = x.addingProduct(y, minusDP2)
        x = x.addingProduct(y, minusDP3)

        let sinSign = (input.bitPattern & 0x8000_0000) ^ UInt32(bitPattern: (j & 4) << 29)
        let cosSign = UInt32(bitPattern: (~(j &- 2) & 4) << 29)
        let swapPolynomials = (j & 2) != 0

        let z = x * x
        var c = cosCoefficients.1.addingProduct(cosCoefficients.0, z)
        c = cosCoefficients.2.addingProduct(c, z)
        c = c * z
        c = (-(z * 0.5)).addingProduct(c, z)
        c = c + 1

        var s = sinCoefficients.1.addingProduct(sinCoefficients.0, z)
        s = sinCoefficients.2.addingProduct(s, z)
        s = s * z
        s = x.addingProduct(s, x)

        let sinValue = swapPolynomials ? c : s
        let cosValue = swapPolynomials ? s : c
        return (Float(bitPattern: sinValue.bitPattern ^ sinSign), Float(bitPattern: cosValue.bitPattern ^ cosSign))
    }
}
