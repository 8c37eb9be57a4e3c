/// Adherence rates over a set of images (fractions in [0, 1]).
public struct AdherenceScores: Codable, Sendable, Equatable {
    public var count: Double
    public var colour: Double
    public var shape: Double
    public var position: Double
    /// All four attributes right in the same image.
    public var all: Double

    /// The rates of `verdicts` (all zero when empty).
    public init(_ verdicts: [AdherenceVerdict]) {
        let n = Double(Swift.max(verdicts.count, 1))
        func rate(_ predicate: (AdherenceVerdict) -> Bool) -> Double { Double(verdicts.filter(predicate).count) / n }
        count = rate(\.count)
        colour = rate(\.colour)
        shape = rate(\.shape)
        position = rate(\.position)
        all = rate(\.all)
    }
}

/// Strict and lenient adherence of a set of generated images to their prompts.
public struct AdherenceReport: Codable, Sendable, Equatable {
    public var images: Int
    public var strict: AdherenceScores
    public var lenient: AdherenceScores

    /// Checks every image (`[N, 3, size, size]` values, row-major) against its prompt.
    public init(images pixels: [Float], size: Int, prompts: [ShapePrompt]) {
        let stride = 3 * size * size
        precondition(pixels.count == prompts.count * stride, "one prompt per image")
        func verdicts(_ checker: AdherenceChecker) -> [AdherenceVerdict] {
            prompts.indices.map { checker.check(Array(pixels[($0 * stride)..<(($0 + 1) * stride)]), size: size, prompt: prompts[$0]) }
        }
        images = prompts.count
        strict = AdherenceScores(verdicts(AdherenceChecker(variant: .strict)))
        lenient = AdherenceScores(verdicts(AdherenceChecker(variant: .lenient)))
    }

    /// One line: `strict all 35.2% (count 86, colour 100, shape 38, position 97) | lenient all 32.4%`.
    public var summary: String {
        func percent(_ value: Double) -> String { String(Int((value * 100).rounded())) }
        return "strict all \(percent(strict.all))% (count \(percent(strict.count)), colour \(percent(strict.colour)), "
            + "shape \(percent(strict.shape)), position \(percent(strict.position))) | lenient all \(percent(lenient.all))% "
            + "(count \(percent(lenient.count)), colour \(percent(lenient.colour)), shape \(percent(lenient.shape)), "
            + "position \(percent(lenient.position))) over \(images) images"
    }
}
