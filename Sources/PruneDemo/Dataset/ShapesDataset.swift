import PruneTensor

/// One rendered example: the prompt and its image `[3, size, size]` in [0, 1], channel-major.
public struct ShapeExample: Sendable {
    public var prompt: ShapePrompt
    public var pixels: [Float]
}

/// The procedural text-to-image dataset of the demo models: 32 × 32 RGB images of coloured shapes on black,
/// each paired with the prompt that names its shape, colour, count and position.
///
/// - Single shapes: radius 5–6 px at an anchor of ``ShapePosition`` with ±2 px of jitter.
/// - Pairs: two shapes of radius 4 px at random whole-pixel places whose centres are at least 12 px apart (so
///   they never touch), at least 5 px inside the border.
/// - Colour: the palette colour times a brightness drawn from [0.8, 1.0] (one per image).
///
/// Example `i` of a dataset with seed `s` is a pure function of `(s, i)`: the prompt is drawn uniformly from
/// ``ShapePrompt/all`` and the geometry from the same stream, so any batch can be regenerated on resume.
///
/// This implementation matches: the dataset of `research/demo-feasibility.md` §1.
public struct ShapesDataset: Sendable {
    /// Seed of the whole dataset.
    public let seed: UInt64
    /// Canvas side in pixels (32 for the demo models).
    public let size: Int

    public init(seed: UInt64, size: Int = 32) {
        precondition(size >= 16, "the shapes dataset needs a canvas of at least 16 px, got \(size)")
        self.seed = seed
        self.size = size
    }

    /// Example `index`: a prompt drawn from ``ShapePrompt/all`` and its rendering.
    public func example(_ index: Int) -> ShapeExample {
        var generator = Self.generator(seed: seed, index: index)
        let prompt = ShapePrompt.all[Int(generator.next() % UInt64(ShapePrompt.all.count))]
        return ShapeExample(prompt: prompt, pixels: render(prompt, using: &generator))
    }

    /// The rendering of `prompt` drawn from the stream of example `index` (a prompt chosen by the caller,
    /// e.g. for a fixed evaluation set).
    public func example(_ index: Int, prompt: ShapePrompt) -> ShapeExample {
        var generator = Self.generator(seed: seed, index: index)
        _ = generator.next()
        return ShapeExample(prompt: prompt, pixels: render(prompt, using: &generator))
    }

    /// Renders `prompt` with geometry and brightness drawn from `generator`. Returns `[3, size, size]` in [0, 1].
    public func render(_ prompt: ShapePrompt, using generator: inout SeededGenerator) -> [Float] {
        var pixels = [Float](repeating: 0, count: 3 * size * size)
        let brightness = 0.8 + 0.2 * generator.nextUniform()
        let base = prompt.colour.rgb
        let rgb = (base.red * brightness, base.green * brightness, base.blue * brightness)
        let scale = Float(size) / 32
        switch prompt.layout {
        case .single(let position):
            let radius = (generator.nextUniform() < 0.5 ? 5 : 6) * scale
            let anchor = position.anchor(canvasSize: size)
            let jitterX = Float(Int(generator.next() % 5) - 2) * scale
            let jitterY = Float(Int(generator.next() % 5) - 2) * scale
            ShapeRenderer.draw(
                prompt.shape, centerX: anchor.x + jitterX, centerY: anchor.y + jitterY, radius: radius, rgb: rgb,
                into: &pixels, size: size)
        case .pair:
            let radius = 4 * scale
            let margin = 5 * scale
            let span = Float(size) - 2 * margin
            // Centres on whole pixels (as the singles' anchors and jitter), so every digital shape is symmetric
            // about its box centre and a radius-4 circle fills 52 of its 64 box pixels (0.81 < the checker's
            // 0.86 square threshold); off-grid centres can round a small circle into a near-square.
            func place() -> (Float, Float) {
                ((margin + span * generator.nextUniform()).rounded(), (margin + span * generator.nextUniform()).rounded())
            }
            let first = place()
            var second = place()
            // Rejection sampling until the centres are 12 px apart (always succeeds quickly on 32 px).
            while (second.0 - first.0) * (second.0 - first.0) + (second.1 - first.1) * (second.1 - first.1) < 144 * scale * scale {
                second = place()
            }
            for centre in [first, second] {
                ShapeRenderer.draw(prompt.shape, centerX: centre.0, centerY: centre.1, radius: radius, rgb: rgb, into: &pixels, size: size)
            }
        }
        return pixels
    }

    /// Examples `range`, stacked: prompts and images `[count, 3, size, size]` in [0, 1].
    public func batch(_ range: Range<Int>) -> (prompts: [ShapePrompt], images: Tensor) {
        var prompts: [ShapePrompt] = []
        var values: [Float] = []
        values.reserveCapacity(range.count * 3 * size * size)
        for index in range {
            let example = example(index)
            prompts.append(example.prompt)
            values += example.pixels
        }
        return (prompts, Tensor(values, shape: [range.count, 3, size, size]))
    }

    /// The per-example generator: SplitMix-seeded from the dataset seed and the index.
    static func generator(seed: UInt64, index: Int) -> SeededGenerator {
        SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(truncatingIfNeeded: index) &+ 0x5DEE_CE66)
    }
}
