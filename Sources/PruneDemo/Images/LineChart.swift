import Foundation

/// A minimal line-chart renderer for training curves: axes with tick marks, one polyline per series, no
/// text (the axis ranges go in the file name or next to the chart).
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var values: [Float]
        public var colour: (UInt8, UInt8, UInt8)

        public init(values: [Float], colour: (UInt8, UInt8, UInt8)) {
            self.values = values
            self.colour = colour
        }
    }

    public var width = 480
    public var height = 240
    /// Plot the y axis as log10 (values must be positive).
    public var logarithmic = true
    public var series: [Series]

    public init(series: [Series], width: Int = 480, height: Int = 240, logarithmic: Bool = true) {
        self.series = series
        self.width = width
        self.height = height
        self.logarithmic = logarithmic
    }

    /// A loss curve: the raw per-step values in light blue and their moving average over `window` steps in
    /// dark blue.
    public static func lossCurve(_ losses: [Float], window: Int = 50) -> LineChart {
        var smoothed: [Float] = []
        var sum: Float = 0
        for (index, value) in losses.enumerated() {
            sum += value
            if index >= window { sum -= losses[index - window] }
            smoothed.append(sum / Float(Swift.min(index + 1, window)))
        }
        return LineChart(series: [Series(values: losses, colour: (170, 200, 255)), Series(values: smoothed, colour: (20, 60, 200))])
    }

    /// Draws the chart on a white canvas. The x axis spans the longest series, the y axis the finite values
    /// of all series; ten tick marks on each axis (decades on a logarithmic y axis).
    public func render() -> RGBImage {
        var canvas = RGBImage(width: width, height: height, background: (255, 255, 255))
        let margin = 16
        let (left, right, top, bottom) = (margin, width - margin, margin, height - margin)
        let transform: (Float) -> Float = logarithmic ? { Foundation.log10(Swift.max($0, 1e-12)) } : { $0 }
        let finite = series.flatMap(\.values).filter { $0.isFinite && (!logarithmic || $0 > 0) }.map(transform)
        let (low, high) = (finite.min() ?? 0, finite.max() ?? 1)
        let span = high > low ? high - low : 1
        let length = Swift.max(series.map(\.values.count).max() ?? 1, 2)

        let axis: (UInt8, UInt8, UInt8) = (60, 60, 60)
        Self.line(&canvas, left, bottom, right, bottom, axis)
        Self.line(&canvas, left, top, left, bottom, axis)
        for tick in 0...10 {
            let x = left + (right - left) * tick / 10
            Self.line(&canvas, x, bottom, x, bottom + 4, axis)
        }
        if logarithmic {
            var decade = low.rounded(.up)
            while decade <= high {
                let y = bottom - Int(Float(bottom - top) * (decade - low) / span)
                Self.line(&canvas, left - 4, y, left, y, axis)
                Self.line(&canvas, left + 1, y, right, y, (225, 225, 225))
                decade += 1
            }
        } else {
            for tick in 0...10 {
                let y = bottom - (bottom - top) * tick / 10
                Self.line(&canvas, left - 4, y, left, y, axis)
            }
        }
        for entry in series {
            var previous: (Int, Int)?
            for (index, value) in entry.values.enumerated() where value.isFinite && (!logarithmic || value > 0) {
                let x = left + Int(Float(right - left) * Float(index) / Float(length - 1))
                let y = bottom - Int(Float(bottom - top) * (transform(value) - low) / span)
                if let previous { Self.line(&canvas, previous.0, previous.1, x, y, entry.colour) } else { canvas.set(x, y, entry.colour) }
                previous = (x, y)
            }
        }
        return canvas
    }

    /// Bresenham's line from `(x0, y0)` to `(x1, y1)`.
    static func line(_ canvas: inout RGBImage, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ colour: (UInt8, UInt8, UInt8)) {
        var (x, y) = (x0, y0)
        let (dx, dy) = (Swift.abs(x1 - x0), -Swift.abs(y1 - y0))
        let (sx, sy) = (x0 < x1 ? 1 : -1, y0 < y1 ? 1 : -1)
        var error = dx + dy
        while true {
            canvas.set(x, y, colour)
            if x == x1 && y == y1 { break }
            let doubled = 2 * error
            if doubled >= dy { error += dy; x += sx }
            if doubled <= dx { error += dx; y += sy }
        }
    }
}
