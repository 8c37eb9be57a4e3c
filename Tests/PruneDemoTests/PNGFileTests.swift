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

    @Test("a loss chart draws axes and a falling curve, and survives the PNG round trip")
    func lossChart() throws {
        let losses = (0..<300).map { Float(1.0 / Double($0 + 1).squareRoot()) }
        let chart = LineChart.lossCurve(losses).render()
        #expect(chart.width == 480 && chart.height == 240)
        #expect(chart.pixel(16, 224) == (60, 60, 60))
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
