import PruneTensor
import Testing

@testable import PruneDemo

@Suite("Adherence checker")
struct AdherenceCheckerTests {
    @Test("strict and lenient checkers score 100 % on 600 dataset images", arguments: AdherenceChecker.Variant.allCases)
    func realImages(variant: AdherenceChecker.Variant) {
        let dataset = ShapesDataset(seed: 11)
        let checker = AdherenceChecker(variant: variant)
        var failures: [String] = []
        for index in 0..<600 {
            let example = dataset.example(index)
            let verdict = checker.check(example.pixels, size: 32, prompt: example.prompt)
            if !verdict.all { failures.append("\(index): \(example.prompt) → \(checker.detect(example.pixels, size: 32))") }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    @Test("every prompt of the grammar is recognised on its own renderings")
    func everyPrompt() {
        let dataset = ShapesDataset(seed: 5)
        for (index, prompt) in ShapePrompt.all.enumerated() {
            for round in 0..<3 {
                let example = dataset.example(index * 3 + round, prompt: prompt)
                #expect(AdherenceChecker().check(example.pixels, size: 32, prompt: prompt).all, "\(prompt)")
            }
        }
    }

    @Test("the strict checker tolerates Gaussian noise of σ 0.05")
    func noisyImages() {
        let dataset = ShapesDataset(seed: 12)
        var generator = SeededGenerator(seed: 99)
        var correct = 0
        for index in 0..<300 {
            let example = dataset.example(index)
            let noisy = example.pixels.map { Swift.min(Swift.max($0 + 0.05 * generator.nextNormal(), 0), 1) }
            if AdherenceChecker().check(noisy, size: 32, prompt: example.prompt).all { correct += 1 }
        }
        #expect(correct == 300)
    }

    @Test("real images paired with shuffled prompts score near chance")
    func shuffledPrompts() {
        let dataset = ShapesDataset(seed: 13)
        var generator = SeededGenerator(seed: 1)
        var all = 0
        var colour = 0
        let count = 600
        for index in 0..<count {
            let example = dataset.example(index)
            let other = ShapePrompt.all[Int(generator.next() % 72)]
            let verdict = AdherenceChecker().check(example.pixels, size: 32, prompt: other)
            if verdict.all { all += 1 }
            if verdict.colour { colour += 1 }
        }
        // Chance: colour 1/4, all four about 1/4 · 1/3 · (pair or matching anchor ≈ 1/6 · …) ≈ 1–2 %.
        #expect(Double(all) / Double(count) < 0.05)
        #expect(abs(Double(colour) / Double(count) - 0.25) < 0.06)
    }

    @Test("a blank image and speckle fail count; the lenient checker removes isolated speckle")
    func speckle() {
        let prompt = ShapePrompt(shape: .square, colour: .green, layout: .single(.center))
        let blank = [Float](repeating: 0, count: 3 * 32 * 32)
        #expect(!AdherenceChecker().check(blank, size: 32, prompt: prompt).count)
        var generator = SeededGenerator(seed: 2)
        var image = ShapesDataset(seed: 1).example(0, prompt: prompt).pixels
        // Bright red 3 × 3 blocks (≥ 6 px each) in the bottom-left corner, away from the centred square.
        for _ in 0..<6 {
            let (x, y) = (Int(generator.next() % 6) + 1, Int(generator.next() % 4) + 26)
            for dy in 0..<3 { for dx in 0..<3 { image[(y + dy - 1) * 32 + x + dx] = 1 } }
        }
        #expect(!AdherenceChecker(variant: .strict).check(image, size: 32, prompt: prompt).count)
        var single = ShapesDataset(seed: 1).example(0, prompt: prompt).pixels
        for i in stride(from: 0, to: 1024, by: 97) where single[1024 + i] == 0 { single[i] = 0.9 }
        #expect(AdherenceChecker(variant: .lenient).check(single, size: 32, prompt: prompt).all)
    }

    @Test("scores aggregate per attribute")
    func scores() {
        let verdicts = [
            AdherenceVerdict(count: true, colour: true, shape: true, position: true),
            AdherenceVerdict(count: true, colour: false, shape: true, position: true),
        ]
        let scores = AdherenceScores(verdicts)
        #expect(scores.count == 1 && scores.colour == 0.5 && scores.shape == 1 && scores.all == 0.5)
    }
}
