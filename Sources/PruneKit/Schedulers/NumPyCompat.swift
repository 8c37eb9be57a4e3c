import Foundation

/// The handful of NumPy routines diffusers builds schedules with, reproduced operation for operation in
/// `Double` so that schedules match diffusers bit for bit (NumPy computes in float64; diffusers casts to
/// float32 afterwards).
enum NumPy {
    /// `np.linspace(start, stop, num, endpoint=endpoint)`: `i·step + start` with the last element pinned
    /// to `stop` when `endpoint` is true. Shape: `[num]`.
    static func linspace(_ start: Double, _ stop: Double, count: Int, endpoint: Bool = true) -> [Double] {
        guard count > 0 else { return [] }
        let divisor = endpoint ? count - 1 : count
        let delta = stop - start
        var values = (0..<count).map { Double($0) }
        if divisor > 0 {
            let step = delta / Double(divisor)
            if step == 0 {
                values = values.map { $0 / Double(divisor) * delta }
            } else {
                values = values.map { $0 * step }
            }
        } else {
            values = values.map { $0 * delta }
        }
        values = values.map { $0 + start }
        if endpoint && count > 1 { values[count - 1] = stop }
        return values
    }

    /// `np.arange(start, stop, step)` for floats: `ceil((stop − start)/step)` elements, the second one
    /// `start + step`, the rest `start + i·δ` with `δ = (start + step) − start` (NumPy's `fill`).
    /// The length can exceed the "intended" count by one when `(stop − start)/step` rounds up (NumPy does
    /// the same, and diffusers inherits it). Shape: `[length]`.
    static func arange(_ start: Double, _ stop: Double, step: Double) -> [Double] {
        let length = Int(((stop - start) / step).rounded(.up))
        guard length > 0 else { return [] }
        var values = [start]
        if length == 1 { return values }
        values.append(start + step)
        let delta = values[1] - values[0]
        for i in 2..<length { values.append(start + Double(i) * delta) }
        return values
    }

    /// `np.round`: round half to even.
    static func round(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }

    /// `np.interp(x, arange(table.count), table)`: linear interpolation on a table indexed 0, 1, 2, …,
    /// clamped to the end values outside the range.
    static func interpolate(_ x: Double, table: [Double]) -> Double {
        let last = table.count - 1
        if x.isNaN { return .nan }
        if x < 0 { return table[0] }
        if x >= Double(last) { return table[last] }
        let j = Int(x.rounded(.down))
        let xj = Double(j)
        if xj == x { return table[j] }
        let slope = (table[j + 1] - table[j]) / (Double(j + 1) - xj)
        return slope * (x - xj) + table[j]
    }
}
