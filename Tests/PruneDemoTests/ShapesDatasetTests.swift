import PruneTensor
import Testing

@testable import PruneDemo

@Suite("Shapes dataset")
struct ShapesDatasetTests {
    @Test("the grammar has 72 prompts over a 21-word vocabulary, each at most 8 words")
    func grammar() {
        #expect(ShapePrompt.all.count == 72)
        #expect(Set(ShapePrompt.all.map(\.text)).count == 72)
        #expect(ShapePrompt.vocabulary.count == 21)
        #expect(ShapePrompt.all.allSatisfy { $0.words.count <= 8 })
        #expect(ShapePrompt.all.filter { $0.layout == .pair }.count == 12)
    }

    @Test("prompts parse back from their text and unknown text is rejected by name")
    func parsing() throws {
        for prompt in ShapePrompt.all { #expect(try ShapePrompt(parsing: prompt.text.uppercased()) == prompt) }
        #expect(throws: ShapePromptError.notInGrammar("a purple circle")) { try ShapePrompt(parsing: "a purple circle") }
    }

    @Test("the same seed and index give the same example; another seed gives another")
    func determinism() {
        let a = ShapesDataset(seed: 7)
        let b = ShapesDataset(seed: 7)
        let c = ShapesDataset(seed: 8)
        for index in [0, 1, 99, 12_345] {
            #expect(a.example(index).pixels == b.example(index).pixels)
            #expect(a.example(index).prompt == b.example(index).prompt)
        }
        let differing = (0..<20).filter { a.example($0).pixels != c.example($0).pixels }.count
        #expect(differing > 15)
    }

    @Test("images lie in [0, 1] on a black background, coloured only in the prompt's palette channels")
    func pixels() {
        let dataset = ShapesDataset(seed: 3)
        for index in 0..<200 {
            let example = dataset.example(index)
            #expect(example.pixels.count == 3 * 32 * 32)
            #expect(example.pixels.allSatisfy { (0...1).contains($0) })
            let plane = 32 * 32
            let rgb = example.prompt.colour.rgb
            let lit = (0..<plane).filter { example.pixels[$0] + example.pixels[plane + $0] + example.pixels[2 * plane + $0] > 0 }
            #expect(lit.count > 40 && lit.count < plane / 3)
            for i in lit {
                let values = [example.pixels[i], example.pixels[plane + i], example.pixels[2 * plane + i]]
                let palette = [rgb.red, rgb.green, rgb.blue]
                for channel in 0..<3 {
                    if palette[channel] == 0 { #expect(values[channel] == 0) } else { #expect(values[channel] >= 0.8) }
                }
            }
        }
    }

    @Test("a batch stacks examples as [count, 3, 32, 32]")
    func batch() {
        let dataset = ShapesDataset(seed: 1)
        let (prompts, images) = dataset.batch(10..<14)
        #expect(prompts.count == 4)
        #expect(images.shape == [4, 3, 32, 32])
        #expect(Array(images.scalars()[(3 * 3072)..<(4 * 3072)]) == dataset.example(13).pixels)
    }
}
