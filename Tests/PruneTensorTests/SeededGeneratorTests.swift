import Foundation
import PruneTensor
import Testing

// The seeded generator: reference streams, reproducibility and distribution moments.

@Suite("SeededGenerator")
struct SeededGeneratorTests {
    // Reference values from the published xoshiro256** and SplitMix64 algorithms (Blackman & Vigna),
    // computed with this Python transcription:
    //   M = 2**64 - 1
    //   def splitmix(s):
    //       while True:
    //           s = (s + 0x9E3779B97F4A7C15) & M; z = s
    //           z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    //           z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    //           yield z ^ (z >> 31)
    //   rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M
    //   g = splitmix(seed); s = [next(g) for _ in range(4)]
    //   r = (rotl((s[1] * 5) & M, 7) * 9) & M; t = (s[1] << 17) & M
    //   s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45)
    @Test("the stream matches reference xoshiro256** seeded through SplitMix64")
    func referenceStream() {
        var zero = SeededGenerator(seed: 0)
        #expect((0..<4).map { _ in zero.next() } == [
            0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0, 0x6AA5_94F1_262D_2D2C,
        ])
        var fortyTwo = SeededGenerator(seed: 42)
        #expect((0..<4).map { _ in fortyTwo.next() } == [
            0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1, 0xECB8_AD47_03B3_60A1,
        ])
    }

    @Test("the same seed gives the same stream; different seeds differ")
    func reproducible() {
        var a = SeededGenerator(seed: 1234)
        var b = SeededGenerator(seed: 1234)
        var c = SeededGenerator(seed: 1235)
        let streamA = (0..<64).map { _ in a.next() }
        let streamB = (0..<64).map { _ in b.next() }
        let streamC = (0..<64).map { _ in c.next() }
        #expect(streamA == streamB)
        #expect(streamA != streamC)
        var d = SeededGenerator(seed: 9)
        var e = SeededGenerator(seed: 9)
        #expect((0..<33).map { _ in d.nextNormal() } == (0..<33).map { _ in e.nextNormal() })
        #expect(Tensor.randomNormal([3, 5], seed: 7).scalars() == Tensor.randomNormal([3, 5], seed: 7).scalars())
        #expect(Tensor.randomUniform([3, 5], seed: 7).scalars() != Tensor.randomUniform([3, 5], seed: 8).scalars())
    }

    @Test("uniform values lie in [0, 1) with mean ½ and variance 1/12")
    func uniformMoments() {
        var generator = SeededGenerator(seed: 5)
        let values = (0..<50_000).map { _ in Double(generator.nextUniform()) }
        #expect(values.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        #expect(Swift.abs(mean - 0.5) < 0.01)
        #expect(Swift.abs(variance - 1.0 / 12.0) < 0.003)
    }

    @Test("normal values have mean 0 and standard deviation 1")
    func normalMoments() {
        var generator = SeededGenerator(seed: 6)
        let values = (0..<50_000).map { _ in Double(generator.nextNormal()) }
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
        #expect(Swift.abs(mean) < 0.02)
        #expect(Swift.abs(std - 1) < 0.02)
        // About 68% within one standard deviation.
        let inside = Double(values.filter { Swift.abs($0) < 1 }.count) / Double(values.count)
        #expect(Swift.abs(inside - 0.6827) < 0.01)
    }

    @Test("tensor factories honour mean, standard deviation and range")
    func tensorFactories() {
        let normal = Tensor.randomNormal([20_000], mean: 3, standardDeviation: 0.5, seed: 1)
        let values = normal.scalars().map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
        #expect(Swift.abs(mean - 3) < 0.02)
        #expect(Swift.abs(std - 0.5) < 0.02)
        let uniform = Tensor.randomUniform([10_000], low: -2, high: 4, seed: 2).scalars()
        #expect(uniform.allSatisfy { $0 >= -2 && $0 < 4 })
        #expect(uniform.min()! < -1.9 && uniform.max()! > 3.9)
        #expect(normal.requiresGradient == false)
        #expect(Tensor.randomNormal([2], seed: 1, requiresGradient: true).requiresGradient)
    }

    @Test("a generator passed inout continues its stream across tensors")
    func sharedGeneratorContinues() {
        var shared = SeededGenerator(seed: 3)
        let first = Tensor.randomUniform([4], using: &shared).scalars()
        let second = Tensor.randomUniform([4], using: &shared).scalars()
        let both = Tensor.randomUniform([8], seed: 3).scalars()
        #expect(first + second == both)
    }
}
