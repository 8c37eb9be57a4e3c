/// A labelled picture of image pairs: a header naming the two columns, then one row per pair — left and right
/// image side by side — with a caption line under each row (text in ``BitmapFont``).
public struct ComparisonSheet: Sendable {
    /// One row: two images of the same size and what to write under them.
    public struct Row: Sendable {
        public var left: RGBImage
        public var right: RGBImage
        public var caption: String

        public init(left: RGBImage, right: RGBImage, caption: String) {
            self.left = left
            self.right = right
            self.caption = caption
        }
    }

    public var rows: [Row]
    public var leftTitle: String
    public var rightTitle: String

    public init(rows: [Row], leftTitle: String = "original", rightTitle: String = "pruned") {
        self.rows = rows
        self.leftTitle = leftTitle
        self.rightTitle = rightTitle
    }

    /// Each image is scaled up by a whole factor (nearest neighbour) until it is at least this wide, so that
    /// tiny images stay visible and captions fit.
    public static let minimumCellWidth = 160
    static let gutter = 8
    static var lineHeight: Int { BitmapFont.glyphHeight + 6 }

    /// The sheet on a white canvas. Images of a row must share one size; the widest row sets the sheet's width.
    public func render() -> RGBImage {
        precondition(!rows.isEmpty, "a comparison sheet needs at least one row")
        let cellWidth = rows.map { Self.scale(for: $0.left.width) * $0.left.width }.max()!
        let width = 2 * cellWidth + 3 * Self.gutter
        let height = Self.gutter + Self.lineHeight
            + rows.reduce(0) { $0 + Self.scale(for: $1.left.width) * $1.left.height + Self.lineHeight + Self.gutter }
        var canvas = RGBImage(width: width, height: height, background: (255, 255, 255))
        let titleY = Self.gutter
        BitmapFont.draw(leftTitle, on: &canvas, x: Self.gutter + (cellWidth - BitmapFont.width(of: leftTitle)) / 2, y: titleY)
        BitmapFont.draw(rightTitle, on: &canvas, x: 2 * Self.gutter + cellWidth + (cellWidth - BitmapFont.width(of: rightTitle)) / 2, y: titleY)
        var y = Self.gutter + Self.lineHeight
        for row in rows {
            precondition(row.left.width == row.right.width && row.left.height == row.right.height, "a row's two images need the same size")
            let scale = Self.scale(for: row.left.width)
            Self.paste(row.left, scale: scale, on: &canvas, x: Self.gutter, y: y)
            Self.paste(row.right, scale: scale, on: &canvas, x: 2 * Self.gutter + cellWidth, y: y)
            y += row.left.height * scale + 3
            let fitting = Self.truncated(row.caption, toWidth: width - 2 * Self.gutter)
            BitmapFont.draw(fitting, on: &canvas, x: Self.gutter, y: y)
            y += Self.lineHeight - 3 + Self.gutter
        }
        return canvas
    }

    static func scale(for width: Int) -> Int { max(1, (minimumCellWidth + width - 1) / width) }

    static func paste(_ image: RGBImage, scale: Int, on canvas: inout RGBImage, x: Int, y: Int) {
        for row in 0..<(image.height * scale) {
            for column in 0..<(image.width * scale) { canvas.set(x + column, y + row, image.pixel(column / scale, row / scale)) }
        }
    }

    /// `text`, cut with "..." to fit `width` pixels.
    static func truncated(_ text: String, toWidth width: Int) -> String {
        if BitmapFont.width(of: text) <= width { return text }
        let characters = max(0, width / (BitmapFont.glyphWidth + 1) - 3)
        return String(text.prefix(characters)) + "..."
    }
}
