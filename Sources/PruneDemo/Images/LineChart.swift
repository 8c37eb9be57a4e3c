import Foundation

/// A line chart for training curves: axes with tick marks and tick values, an x- and a y-axis title, one
/// polyline per series and a legend naming each series (text in ``BitmapFont``).
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var values: [Float]
        public var colour: (UInt8, UInt8, UInt8)
        /// The legend's name for the series (no legend entry when empty).
        public var name: String

        public init(values: [Float], colour: (UInt8, UInt8, UInt8), name: String = "") {
            self.values = values
            self.colour = colour
            self.name = name
        }
    }

    public var width = 480
    public var height = 240
    /// Plot the y axis as log10 (values must be positive).
    public var logarithmic = true
    public var series: [Series]
    /// The x-axis title; the x values are 1 … the longest series' length.
    public var xLabel: String
    /// The y-axis title.
    public var yLabel: String

    public init(
        series: [Series], width: Int = 480, height: Int = 240, logarithmic: Bool = true, xLabel: String = "step", yLabel: String = "loss"
    ) {
        self.series = series
        self.width = width
        self.height = height
        self.logarithmic = logarithmic
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    /// A loss curve: the raw per-step values in light blue and their moving average over `window` steps in
    /// dark blue.
    public static func lossCurve(_ losses: [Float], window: Int = 50, xLabel: String = "step", yLabel: String = "loss (log scale)") -> LineChart {
        var smoothed: [Float] = []
        var sum: Float = 0
        for (index, value) in losses.enumerated() {
            sum += value
            if index >= window { sum -= losses[index - window] }
            smoothed.append(sum / Float(Swift.min(index + 1, window)))
        }
        return LineChart(
            series: [
                Series(values: losses, colour: (170, 200, 255), name: "per step"),
                Series(values: smoothed, colour: (20, 60, 200), name: "mean of \(window)"),
            ], xLabel: xLabel, yLabel: yLabel)
    }

    /// The plot area's edges inside the canvas: room on the left for the y title and tick values, below for the
    /// tick values and the x title.
    public var plotArea: (left: Int, right: Int, top: Int, bottom: Int) {
        (left: 16 + BitmapFont.glyphHeight + 4 + BitmapFont.width(of: "-1.23E-10") / 2 + 10, right: width - 16, top: 20,
         bottom: height - 16 - 2 * (BitmapFont.glyphHeight + 4))
    }

    /// Draws the chart on a white canvas. The x axis spans the longest series (values 1 … its length), the y axis
    /// the finite values of all series; labelled x ticks at 1 and multiples of a 1-2-5 step, decades on a
    /// logarithmic y axis (each labelled), eleven ticks otherwise (six labelled); the legend above the plot.
    public func render() -> RGBImage {
        var canvas = RGBImage(width: width, height: height, background: (255, 255, 255))
        let (left, right, top, bottom) = plotArea
        let transform: (Float) -> Float = logarithmic ? { Foundation.log10(Swift.max($0, 1e-12)) } : { $0 }
        let finite = series.flatMap(\.values).filter { $0.isFinite && (!logarithmic || $0 > 0) }.map(transform)
        let (low, high) = (finite.min() ?? 0, finite.max() ?? 1)
        let span = high > low ? high - low : 1
        let length = Swift.max(series.map(\.values.count).max() ?? 1, 2)
        let text: (UInt8, UInt8, UInt8) = (40, 40, 40)

        let axis: (UInt8, UInt8, UInt8) = (60, 60, 60)
        Self.line(&canvas, left, bottom, right, bottom, axis)
        Self.line(&canvas, left, top, left, bottom, axis)
        // x ticks at whole values 1, step, 2·step, … (a 1-2-5 step giving at most six labels), placed exactly.
        let step = Self.niceStep(for: length - 1, maximumTicks: 6)
        for value in [1] + Array(stride(from: step, through: length, by: step)) where value <= length {
            let x = left + Int((Double(right - left) * Double(value - 1) / Double(length - 1)).rounded())
            Self.line(&canvas, x, bottom, x, bottom + 4, axis)
            let label = String(value)
            BitmapFont.draw(label, on: &canvas, x: x - BitmapFont.width(of: label) / 2, y: bottom + 6, colour: text)
        }
        func tickLabel(_ label: String, at y: Int) {
            BitmapFont.draw(label, on: &canvas, x: left - 6 - BitmapFont.width(of: label), y: y - BitmapFont.glyphHeight / 2, colour: text)
        }
        if logarithmic {
            var decade = low.rounded(.up)
            while decade <= high {
                let y = bottom - Int(Float(bottom - top) * (decade - low) / span)
                Self.line(&canvas, left - 4, y, left, y, axis)
                Self.line(&canvas, left + 1, y, right, y, (225, 225, 225))
                tickLabel("1E\(Int(decade))", at: y)
                decade += 1
            }
            if high - low < 1 {  // no decade inside the range: label its ends
                tickLabel(Self.format(Foundation.pow(10, low)), at: bottom)
                tickLabel(Self.format(Foundation.pow(10, high)), at: top)
            }
        } else {
            for tick in 0...10 {
                let y = bottom - (bottom - top) * tick / 10
                Self.line(&canvas, left - 4, y, left, y, axis)
                if tick % 2 == 0 { tickLabel(Self.format(low + span * Float(tick) / 10), at: y) }
            }
        }
        BitmapFont.draw(xLabel, on: &canvas, x: (left + right - BitmapFont.width(of: xLabel)) / 2, y: height - 4 - BitmapFont.glyphHeight, colour: text)
        BitmapFont.drawVertical(yLabel, on: &canvas, x: 4, bottom: (top + bottom + BitmapFont.width(of: yLabel)) / 2, colour: text)
        for entry in series {
            var previous: (Int, Int)?
            for (index, value) in entry.values.enumerated() where value.isFinite && (!logarithmic || value > 0) {
                let x = left + Int(Float(right - left) * Float(index) / Float(length - 1))
                let y = bottom - Int(Float(bottom - top) * (transform(value) - low) / span)
                if let previous { Self.line(&canvas, previous.0, previous.1, x, y, entry.colour) } else { canvas.set(x, y, entry.colour) }
                previous = (x, y)
            }
        }
        // The legend in the margin above the plot, right-aligned: a short line in the series' colour, then its name.
        var legendRight = right
        for entry in series.reversed() where !entry.name.isEmpty {
            let x = legendRight - BitmapFont.width(of: entry.name) - 16
            for dy in -1...1 { Self.line(&canvas, x, 7 + dy, x + 12, 7 + dy, entry.colour) }
            BitmapFont.draw(entry.name, on: &canvas, x: x + 16, y: 4, colour: text)
            legendRight = x - 12
        }
        return canvas
    }

    /// The smallest step of the form 1, 2, 5 × 10ⁿ (at least 1) that divides `span` into at most `maximumTicks` parts.
    static func niceStep(for span: Int, maximumTicks: Int) -> Int {
        var magnitude = 1
        while true {
            for factor in [1, 2, 5] where span <= factor * magnitude * maximumTicks { return factor * magnitude }
            magnitude *= 10
        }
    }

    /// A tick value in at most four significant digits.
    static func format(_ value: Float) -> String {
        let magnitude = Swift.abs(value)
        if magnitude != 0, magnitude < 1e-2 || magnitude >= 1e5 { return String(format: "%.2E", value) }
        return String(format: "%.4g", value)
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
