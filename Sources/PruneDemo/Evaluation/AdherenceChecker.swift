/// What the checker found in one image.
public struct DetectedShape: Sendable, Equatable {
    public var shape: ShapeKind
    public var colour: ShapeColour
    /// The anchor nearest to the bounding-box centre.
    public var position: ShapePosition
    /// Pixels in the component.
    public var area: Int
}

/// Per-attribute verdicts for one image against its prompt.
public struct AdherenceVerdict: Sendable, Equatable {
    public var count: Bool
    public var colour: Bool
    public var shape: Bool
    public var position: Bool
    /// All four attributes right.
    public var all: Bool { count && colour && shape && position }
}

/// The analytic prompt-adherence checker of the shapes dataset (no learned judge).
///
/// - Foreground: pixels whose largest channel exceeds 0.4.
/// - Count: 4-connected foreground components of at least 6 pixels.
/// - Colour: a component's mean RGB divided by its largest channel, matched to the nearest palette colour.
/// - Shape: bounding-box fill ≥ 0.86 is a square; otherwise a top half (the first ⌊h/2⌋ rows of the box)
///   holding fewer than 0.65 × the pixels of the bottom half (the last ⌊h/2⌋ rows) is a triangle; anything
///   else is a circle.
/// - Position: the anchor nearest to the bounding-box centre.
///
/// Verdicts: count is right when the number of components equals the prompt's; colour and shape when every
/// component has the prompt's (and there is at least one); position, for a single-shape prompt, when the
/// largest component sits at the named anchor — pair prompts name no position, so theirs is right whenever a
/// shape was found.
///
/// The **lenient** variant first takes a 3 × 3 median of each channel (edges replicated) and subtracts that
/// channel's median over the whole image (the background level), clamping at 0; it forgives the speckle and
/// tinted backgrounds of under-trained models that the **strict** variant counts as extra components.
///
/// This implementation matches: the checker of `research/demo-feasibility.md` §1.
public struct AdherenceChecker: Sendable {
    public enum Variant: String, Sendable, CaseIterable, Codable { case strict, lenient }

    public let variant: Variant
    public let foregroundThreshold: Float = 0.4
    public let minimumComponentSize = 6
    public let squareFill: Float = 0.86
    public let triangleRatio: Float = 0.65

    public init(variant: Variant = .strict) { self.variant = variant }

    /// The shapes in `pixels` (`[3, size, size]`, channel-major, values in [0, 1]).
    public func detect(_ pixels: [Float], size: Int) -> [DetectedShape] {
        precondition(pixels.count == 3 * size * size, "detect needs [3, \(size), \(size)] pixels, got \(pixels.count) values")
        let image = variant == .lenient ? Self.backgroundSubtracted(Self.median3x3(pixels, size: size), size: size) : pixels
        let plane = size * size
        var foreground = [Bool](repeating: false, count: plane)
        for i in 0..<plane { foreground[i] = Swift.max(image[i], image[plane + i], image[2 * plane + i]) > foregroundThreshold }

        var visited = [Bool](repeating: false, count: plane)
        var shapes: [DetectedShape] = []
        for seed in 0..<plane where foreground[seed] && !visited[seed] {
            var stack = [seed]
            visited[seed] = true
            var members: [Int] = []
            while let index = stack.popLast() {
                members.append(index)
                let (x, y) = (index % size, index / size)
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)] where nx >= 0 && ny >= 0 && nx < size && ny < size {
                    let neighbour = ny * size + nx
                    if foreground[neighbour] && !visited[neighbour] {
                        visited[neighbour] = true
                        stack.append(neighbour)
                    }
                }
            }
            guard members.count >= minimumComponentSize else { continue }
            shapes.append(describe(members, image: image, size: size))
        }
        return shapes.sorted { $0.area > $1.area }
    }

    /// Colour, shape and position of one component.
    func describe(_ members: [Int], image: [Float], size: Int) -> DetectedShape {
        let plane = size * size
        var (minX, minY, maxX, maxY) = (size, size, -1, -1)
        var sum: (Float, Float, Float) = (0, 0, 0)
        for index in members {
            let (x, y) = (index % size, index / size)
            (minX, minY, maxX, maxY) = (Swift.min(minX, x), Swift.min(minY, y), Swift.max(maxX, x), Swift.max(maxY, y))
            sum.0 += image[index]
            sum.1 += image[plane + index]
            sum.2 += image[2 * plane + index]
        }
        let peak = Swift.max(sum.0, sum.1, sum.2, 1e-6)
        let normalized = (sum.0 / peak, sum.1 / peak, sum.2 / peak)
        let colour = ShapeColour.allCases.min { a, b in
            Self.distance(normalized, a.rgb) < Self.distance(normalized, b.rgb)
        }!

        let (width, height) = (maxX - minX + 1, maxY - minY + 1)
        let fill = Float(members.count) / Float(width * height)
        let shape: ShapeKind
        if fill >= squareFill {
            shape = .square
        } else {
            let half = height / 2
            var (top, bottom) = (0, 0)
            for index in members {
                let row = index / size - minY
                if row < half { top += 1 }
                if row >= height - half { bottom += 1 }
            }
            shape = Float(top) < triangleRatio * Float(bottom) ? .triangle : .circle
        }

        let centre = (Float(minX + maxX + 1) / 2, Float(minY + maxY + 1) / 2)
        let position = ShapePosition.allCases.min { a, b in
            let (pa, pb) = (a.anchor(canvasSize: size), b.anchor(canvasSize: size))
            let da = (pa.x - centre.0) * (pa.x - centre.0) + (pa.y - centre.1) * (pa.y - centre.1)
            let db = (pb.x - centre.0) * (pb.x - centre.0) + (pb.y - centre.1) * (pb.y - centre.1)
            return da < db
        }!
        return DetectedShape(shape: shape, colour: colour, position: position, area: members.count)
    }

    /// The verdicts for `pixels` against `prompt`.
    public func check(_ pixels: [Float], size: Int, prompt: ShapePrompt) -> AdherenceVerdict {
        let found = detect(pixels, size: size)
        let any = !found.isEmpty
        let position: Bool
        switch prompt.layout {
        case .single(let anchor): position = found.first?.position == anchor
        case .pair: position = any
        }
        return AdherenceVerdict(
            count: found.count == prompt.layout.count,
            colour: any && found.allSatisfy { $0.colour == prompt.colour },
            shape: any && found.allSatisfy { $0.shape == prompt.shape },
            position: position)
    }

    static func distance(_ a: (Float, Float, Float), _ b: (red: Float, green: Float, blue: Float)) -> Float {
        (a.0 - b.red) * (a.0 - b.red) + (a.1 - b.green) * (a.1 - b.green) + (a.2 - b.blue) * (a.2 - b.blue)
    }

    /// A 3 × 3 median filter of each channel, edges replicated.
    static func median3x3(_ pixels: [Float], size: Int) -> [Float] {
        var result = pixels
        var window = [Float](repeating: 0, count: 9)
        for channel in 0..<3 {
            let base = channel * size * size
            for y in 0..<size {
                for x in 0..<size {
                    var n = 0
                    for dy in -1...1 {
                        for dx in -1...1 {
                            let (sx, sy) = (Swift.min(Swift.max(x + dx, 0), size - 1), Swift.min(Swift.max(y + dy, 0), size - 1))
                            window[n] = pixels[base + sy * size + sx]
                            n += 1
                        }
                    }
                    window.sort()
                    result[base + y * size + x] = window[4]
                }
            }
        }
        return result
    }

    /// Each channel minus its median over the image, clamped at 0.
    static func backgroundSubtracted(_ pixels: [Float], size: Int) -> [Float] {
        let plane = size * size
        var result = pixels
        for channel in 0..<3 {
            let values = pixels[(channel * plane)..<((channel + 1) * plane)].sorted()
            let median = values[plane / 2]
            for i in 0..<plane { result[channel * plane + i] = Swift.max(0, pixels[channel * plane + i] - median) }
        }
        return result
    }
}
