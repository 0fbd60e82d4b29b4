import XCTest

/// How far a result is from the reference: the worst element by
/// |a − e| − rtol·|e|, as numpy.allclose judges it.
public struct Comparison: CustomStringConvertible {
    public let maxAbsoluteError: Float
    public let worstIndex: Int
    public let worstActual: Float
    public let worstExpected: Float
    public let withinTolerance: Bool

    public init(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float) {
        precondition(actual.count == expected.count, "comparing \(actual.count) values with \(expected.count)")
        var maxError: Float = 0, worst = 0, worstExcess = -Float.infinity, ok = true
        for i in actual.indices {
            let error = abs(actual[i] - expected[i])
            if !(error <= atol + rtol * abs(expected[i])) { ok = false }
            let excess = error.isNaN ? .infinity : error - rtol * abs(expected[i])
            if excess > worstExcess { worstExcess = excess; worst = i }
            if error > maxError || error.isNaN { maxError = error.isNaN ? .nan : error }
        }
        maxAbsoluteError = maxError
        worstIndex = worst
        worstActual = actual.isEmpty ? 0 : actual[worst]
        worstExpected = expected.isEmpty ? 0 : expected[worst]
        withinTolerance = ok
    }

    public var description: String {
        "max abs error \(maxAbsoluteError); worst at [\(worstIndex)]: \(worstActual) vs reference \(worstExpected)"
    }
}

/// Fails the test unless every element is within atol + rtol·|expected|.
@discardableResult
public func assertClose(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float,
                        _ label: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) -> Comparison {
    guard actual.count == expected.count else {
        XCTFail("\(label()): \(actual.count) values, reference has \(expected.count)", file: file, line: line)
        return Comparison([], [], atol: atol, rtol: rtol)
    }
    let comparison = Comparison(actual, expected, atol: atol, rtol: rtol)
    // The parity numbers end up in the CI log, where closing notes read them.
    print("parity: \(label()): max abs error \(comparison.maxAbsoluteError)")
    XCTAssertTrue(comparison.withinTolerance,
                  "\(label()): \(comparison) (atol \(atol), rtol \(rtol))", file: file, line: line)
    return comparison
}
