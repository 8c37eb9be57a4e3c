/// The shape a prompt names.
public enum ShapeKind: String, Sendable, CaseIterable, Codable {
    case circle, square, triangle

    /// The plural word used by pair prompts ("two red circles").
    public var plural: String { rawValue + "s" }
}

/// The colour a prompt names, with its palette value (the pure colour before brightness jitter).
public enum ShapeColour: String, Sendable, CaseIterable, Codable {
    case red, green, blue, yellow

    /// RGB in [0, 1] at full brightness.
    public var rgb: (red: Float, green: Float, blue: Float) {
        switch self {
        case .red: (1, 0, 0)
        case .green: (0, 1, 0)
        case .blue: (0, 0, 1)
        case .yellow: (1, 1, 0)
        }
    }
}

/// Where a single shape sits: one of five anchors on a 32 × 32 canvas.
public enum ShapePosition: String, Sendable, CaseIterable, Codable {
    case left, right, top, bottom, center

    /// The anchor's (x, y) in pixels on a `size × size` canvas: the centre, or a quarter of the way in
    /// from the named edge (left → (8, 16) at size 32).
    public func anchor(canvasSize size: Int) -> (x: Float, y: Float) {
        let (quarter, half, threeQuarters) = (Float(size) / 4, Float(size) / 2, Float(size) * 3 / 4)
        switch self {
        case .left: return (quarter, half)
        case .right: return (threeQuarters, half)
        case .top: return (half, quarter)
        case .bottom: return (half, threeQuarters)
        case .center: return (half, half)
        }
    }

    /// The words after the shape: "on the left", "at the top", "in the center".
    var phrase: [String] {
        switch self {
        case .left, .right: ["on", "the", rawValue]
        case .top, .bottom: ["at", "the", rawValue]
        case .center: ["in", "the", rawValue]
        }
    }
}

/// How many shapes a prompt asks for, and where.
public enum ShapeLayout: Hashable, Sendable, Codable {
    /// One shape (radius 5–6 px) at an anchor.
    case single(ShapePosition)
    /// Two shapes of the same kind and colour (radius 4 px), placed at random and kept apart.
    case pair

    /// Number of shapes.
    public var count: Int {
        switch self {
        case .single: 1
        case .pair: 2
        }
    }
}

/// One prompt of the shapes grammar: "a red circle on the left", "two blue squares".
///
/// The grammar (72 prompts, 21 words): every shape × colour × {5 anchors} as a single shape, plus every
/// shape × colour as a pair.
public struct ShapePrompt: Hashable, Sendable, Codable, CustomStringConvertible {
    public var shape: ShapeKind
    public var colour: ShapeColour
    public var layout: ShapeLayout

    public init(shape: ShapeKind, colour: ShapeColour, layout: ShapeLayout) {
        self.shape = shape
        self.colour = colour
        self.layout = layout
    }

    /// The prompt's words.
    public var words: [String] {
        switch layout {
        case .single(let position): ["a", colour.rawValue, shape.rawValue] + position.phrase
        case .pair: ["two", colour.rawValue, shape.plural]
        }
    }

    /// The prompt as text.
    public var text: String { words.joined(separator: " ") }
    public var description: String { text }

    /// Every prompt of the grammar in a fixed order: for each shape, for each colour, the five single
    /// placements then the pair.
    public static let all: [ShapePrompt] = ShapeKind.allCases.flatMap { shape in
        ShapeColour.allCases.flatMap { colour in
            ShapePosition.allCases.map { ShapePrompt(shape: shape, colour: colour, layout: .single($0)) }
                + [ShapePrompt(shape: shape, colour: colour, layout: .pair)]
        }
    }

    /// The grammar's vocabulary in a fixed order (21 words).
    public static let vocabulary: [String] = {
        var words: [String] = []
        for prompt in all { for word in prompt.words where !words.contains(word) { words.append(word) } }
        return words
    }()

    /// Parses a prompt of the grammar (whitespace-separated, case-insensitive).
    /// - Throws: ``ShapePromptError/notInGrammar(_:)`` for text that is not one of the 72 prompts.
    public init(parsing text: String) throws(ShapePromptError) {
        let normalized = text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
        guard let prompt = Self.all.first(where: { $0.text == normalized }) else { throw .notInGrammar(text) }
        self = prompt
    }
}

/// A prompt that the shapes grammar cannot parse.
public enum ShapePromptError: Error, Sendable, Equatable, CustomStringConvertible {
    case notInGrammar(String)

    public var description: String {
        switch self {
        case .notInGrammar(let text):
            "\"\(text)\" is not a prompt of the shapes grammar (e.g. \"a red circle on the left\", \"two blue squares\")"
        }
    }
}
