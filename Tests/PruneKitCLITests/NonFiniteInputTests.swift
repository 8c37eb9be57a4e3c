import Foundation
import PruneTensor
import PruneTestSupport
import Testing

@testable import prunekit

/// `prunekit forward` on inputs holding NaN or ±Inf. The defined behaviour (docs/hardening.md): forward does not
/// inspect input values; it runs, exits 0 and writes the output, in which every batch sample whose inputs hold a
/// non-finite value is NaN throughout, while every other sample is bit-identical to a run on clean inputs — a
/// poisoned prompt never leaks into its neighbours in the batch.
@Suite struct NonFiniteInputTests {
    struct Poison: Sendable, CustomTestStringConvertible {
        var fixture: String
        /// The input tensor and its flat element that receives `value`; it lies in batch sample 0.
        var input: String
        var element: Int
        var value: Float
        var testDescription: String { "\(fixture) \(input)[\(element)] = \(value)" }
    }

    static let cases: [Poison] = [
        Poison(fixture: "sdxl-small", input: "sample", element: 5, value: .nan),
        Poison(fixture: "sdxl-small", input: "encoder_hidden_states", element: 0, value: .infinity),
        Poison(fixture: "sdxl-small", input: "timestep", element: 0, value: .nan),
        Poison(fixture: "sdxl-small", input: "text_embeds", element: 3, value: -.infinity),
        Poison(fixture: "flux-small", input: "hidden_states", element: 7, value: .infinity),
        Poison(fixture: "flux-small", input: "encoder_hidden_states", element: 1, value: -.infinity),
        Poison(fixture: "flux-small", input: "timestep", element: 0, value: .nan),
        Poison(fixture: "flux-small", input: "pooled_projections", element: 0, value: .nan),
        Poison(fixture: "flux-small", input: "guidance", element: 0, value: .infinity),
    ]

    /// Runs `forward` on `inputs` and returns the output tensor.
    static func forward(fixture: String, inputs: String, output: String) throws -> Tensor {
        try CLITests.run(["forward", "--model", Fixtures.path(fixture), "--inputs", inputs, "--output", output])
        return try SafetensorsFile.open(output).tensor("output")
    }

    @Test("a non-finite input makes its own batch sample NaN and leaves the others bit-identical", arguments: cases)
    func poisonStaysInItsSample(_ poison: Poison) throws {
        let clean = Fixtures.path("\(poison.fixture)/inputs.safetensors")
        let inputs = CLITests.temporaryPath("poisoned.safetensors")
        let outputs = [CLITests.temporaryPath("clean-out.safetensors"), CLITests.temporaryPath("poisoned-out.safetensors")]
        defer { for path in [inputs] + outputs { try? FileManager.default.removeItem(atPath: path) } }

        let file = try SafetensorsFile.open(clean)
        var tensors: [String: Tensor] = [:]
        for key in file.keys { tensors[key] = try file.tensor(key).converted(to: .float32) }
        let target = try #require(tensors[poison.input])
        let batch = target.shape[0]
        try #require(batch == 2 && poison.element < target.count / batch, "the poisoned element must lie in sample 0")
        var values = target.scalars()
        values[poison.element] = poison.value
        tensors[poison.input] = Tensor(values, shape: target.shape)
        try SafetensorsWriter.write(tensors, to: inputs)

        let reference = try Self.forward(fixture: poison.fixture, inputs: clean, output: outputs[0]).scalars()
        let result = try Self.forward(fixture: poison.fixture, inputs: inputs, output: outputs[1]).scalars()
        let perSample = result.count / batch
        #expect(result[..<perSample].allSatisfy { $0.isNaN }, "sample 0 is NaN throughout")
        #expect(result[perSample...].map(\.bitPattern) == reference[perSample...].map(\.bitPattern), "sample 1 is untouched")
    }
}
