import Foundation
import PruneTensor
import Testing

@testable import PruneDemo

@Suite("PNG output")
struct PNGFileTests {
    func temporaryPath(_ name: String) -> String { NSTemporaryDirectory() + "\(UUID().uuidString)-\(name)" }

    @Test("an RGB image written with libpng reads back pixel for pixel")
    func roundTrip() throws {
        var image = RGBImage(width: 7, height: 5)
        for y in 0..<5 { for x in 0..<7 { image.set(x, y, (UInt8(x * 36), UInt8(y * 60), UInt8((x * y * 13) % 256))) } }
        let path = temporaryPath("round.png")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PNGFile.write(image, to: path)
        #expect(try PNGFile.read(path) == image)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.contains("round.png.tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test("a grid scales tiles ×4 by nearest neighbour with a grey gutter")
    func grid() throws {
        // Two 2 × 2 images: the first all red, the second with one white pixel at (1, 0).
        var values = [Float](repeating: 0, count: 2 * 3 * 4)
        for i in 0..<4 { values[i] = 1 }
        for channel in 0..<3 { values[12 + channel * 4 + 1] = 1 }
        let grid = RGBImage.grid(Tensor(values, shape: [2, 3, 2, 2]), columns: 2, scale: 4, gutter: 2)
        #expect(grid.width == 2 * 8 + 3 * 2 && grid.height == 8 + 2 * 2)
        #expect(grid.pixel(0, 0) == (128, 128, 128))
        #expect(grid.pixel(2, 2) == (255, 0, 0) && grid.pixel(9, 9) == (255, 0, 0))
        #expect(grid.pixel(10, 5) == (128, 128, 128))
        let second = 2 + 8 + 2
        #expect(grid.pixel(second + 4, 2) == (255, 255, 255) && grid.pixel(second + 7, 5) == (255, 255, 255))
        #expect(grid.pixel(second + 3, 2) == (0, 0, 0) && grid.pixel(second + 4, 6) == (0, 0, 0))
        let path = temporaryPath("grid.png")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PNGFile.write(grid, to: path)
        #expect(try PNGFile.read(path) == grid)
    }

    @Test("a loss chart draws axes, axis titles, tick values, a legend and a falling curve, and survives the PNG round trip")
    func lossChart() throws {
        let losses = (0..<300).map { Float(1.0 / Double($0 + 1).squareRoot()) }
        let definition = LineChart.lossCurve(losses)
        let chart = definition.render()
        #expect(chart.width == 480 && chart.height == 240)
        let area = definition.plotArea
        #expect(chart.pixel(area.left, area.bottom) == (60, 60, 60))
        func textPixels(x: Range<Int>, y: Range<Int>) -> Int {
            y.reduce(0) { total, row in total + x.filter { chart.pixel($0, row) == (40, 40, 40) }.count }
        }
        #expect(textPixels(x: 0..<(BitmapFont.glyphHeight + 5), y: area.top..<area.bottom) > 40, "the y-axis title")
        #expect(textPixels(x: area.left..<area.right, y: (area.bottom + 5)..<(area.bottom + 14)) > 40, "the x tick values")
        #expect(textPixels(x: area.left..<area.right, y: (chart.height - 12)..<chart.height) > 20, "the x-axis title")
        #expect(textPixels(x: 0..<area.left, y: area.top..<(area.bottom + 4)) > 60, "the y tick values and title")
        #expect(textPixels(x: (area.right - 200)..<area.right, y: 0..<area.top) > 30, "the legend above the plot")
        #expect(LineChart.niceStep(for: 8, maximumTicks: 6) == 2 && LineChart.niceStep(for: 299, maximumTicks: 6) == 50)
        let curvePixels = chart.bytes.indices.filter { $0 % 3 == 2 && chart.bytes[$0] == 200 && chart.bytes[$0 - 2] == 20 }.count
        #expect(curvePixels > 200)
        let path = temporaryPath("loss.png")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PNGFile.write(chart, to: path)
        #expect(try PNGFile.read(path) == chart)
    }

    @Test("writing into a missing directory and reading a non-PNG are errors naming the file")
    func errors() throws {
        let missing = "/nonexistent-dir-\(UUID().uuidString)/a.png"
        #expect(throws: DemoModelError.self) { try PNGFile.write(RGBImage(width: 1, height: 1), to: missing) }
        let path = temporaryPath("fake.png")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try PNGFile.read(path)
            Issue.record("reading a text file as PNG should fail")
        } catch {
            #expect("\(error)".contains(path))
        }
    }
}
