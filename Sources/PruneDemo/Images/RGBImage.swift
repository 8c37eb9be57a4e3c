import PruneTensor

/// An 8-bit RGB raster, row-major with interleaved channels (what PNG stores).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `height × width × 3` bytes.
    public var bytes: [UInt8]

    /// A canvas filled with `background`.
    public init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        precondition(width > 0 && height > 0, "an image needs a positive size, got \(width)×\(height)")
        self.width = width
        self.height = height
        bytes = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { (bytes[3 * i], bytes[3 * i + 1], bytes[3 * i + 2]) = background }
    }

    public init(width: Int, height: Int, bytes: [UInt8]) {
        precondition(bytes.count == width * height * 3, "\(bytes.count) bytes do not fill \(width)×\(height) RGB")
        self.width = width
        self.height = height
        self.bytes = bytes
    }

    /// Converts `[3, h, w]` floats in [0, 1] (channel-major; values outside are clamped) to bytes,
    /// `round(255·v)`.
    public init(channelMajor pixels: [Float], height: Int, width: Int) {
        precondition(pixels.count == 3 * height * width, "expected [3, \(height), \(width)] values, got \(pixels.count)")
        self.init(width: width, height: height)
        let plane = height * width
        for i in 0..<plane {
            for channel in 0..<3 {
                bytes[3 * i + channel] = UInt8((Swift.min(Swift.max(pixels[channel * plane + i], 0), 1) * 255).rounded())
            }
        }
    }

    /// Sets pixel `(x, y)` when it lies inside the image.
    public mutating func set(_ x: Int, _ y: Int, _ colour: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = 3 * (y * width + x)
        (bytes[i], bytes[i + 1], bytes[i + 2]) = colour
    }

    /// Pixel `(x, y)`.
    public func pixel(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let i = 3 * (y * width + x)
        return (bytes[i], bytes[i + 1], bytes[i + 2])
    }

    /// Lays `images` (`[N, 3, h, w]` in [0, 1]) out in a grid of `columns`, each scaled up `scale`× by
    /// nearest neighbour, separated and surrounded by a `gutter`-pixel grey border.
    public static func grid(_ images: Tensor, columns: Int, scale: Int = 4, gutter: Int = 2) -> RGBImage {
        precondition(images.rank == 4 && images.shape[1] == 3, "grid needs [N, 3, h, w] images, got \(images.shape)")
        precondition(columns > 0 && scale > 0 && gutter >= 0, "grid needs positive columns and scale")
        let (count, height, width) = (images.shape[0], images.shape[2], images.shape[3])
        let rows = Swift.max((count + columns - 1) / columns, 1)
        let (cellWidth, cellHeight) = (width * scale, height * scale)
        var canvas = RGBImage(
            width: columns * cellWidth + (columns + 1) * gutter, height: rows * cellHeight + (rows + 1) * gutter,
            background: (128, 128, 128))
        let values = images.scalars()
        let stride = 3 * height * width
        for index in 0..<count {
            let tile = RGBImage(channelMajor: Array(values[(index * stride)..<((index + 1) * stride)]), height: height, width: width)
            let (originX, originY) = (gutter + (index % columns) * (cellWidth + gutter), gutter + (index / columns) * (cellHeight + gutter))
            for y in 0..<cellHeight {
                for x in 0..<cellWidth { canvas.set(originX + x, originY + y, tile.pixel(x / scale, y / scale)) }
            }
        }
        return canvas
    }
}
