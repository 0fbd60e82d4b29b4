import Foundation

/// The few numpy routines diffusers builds its timestep and sigma schedules
/// with, reproduced operation for operation in double precision (numpy's
/// float64), so schedules agree to the last bit before they are rounded to
/// float32.
enum NumPy {
    /// `np.linspace(start, stop, count)`: `i * step + start`, the last value
    /// set to `stop` exactly.
    static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (stop - start) / Double(count - 1)
        var values = (0..<count).map { Double($0) * step + start }
        values[count - 1] = stop
        return values
    }

    /// `np.arange(start, stop, step)` for floats: the length is
    /// ceil((stop - start) / step), and element i is `start + i * delta`
    /// with delta = (start + step) - start, as numpy's fill does.
    static func arange(_ start: Double, _ stop: Double, step: Double) -> [Double] {
        let length = Int(((stop - start) / step).rounded(.up))
        guard length > 0 else { return [] }
        let delta = (start + step) - start
        return (0..<length).map { $0 == 0 ? start : start + Double($0) * delta }
    }

    /// `np.round`: halves to even.
    static func round(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }

    /// `np.interp(x, np.arange(len(table)), table)`: piecewise linear on the
    /// integer grid, clamped at both ends, exact at grid points.
    static func interpolate(_ x: Double, table: [Float]) -> Double {
        let last = table.count - 1
        if x.isNaN { return x }
        if x <= 0 { return Double(table[0]) }
        if x >= Double(last) { return Double(table[last]) }
        let j = Int(x.rounded(.down))
        if Double(j) == x { return Double(table[j]) }
        let slope = (Double(table[j + 1]) - Double(table[j])) / 1.0
        return slope * (x - Double(j)) + Double(table[j])
    }
}
