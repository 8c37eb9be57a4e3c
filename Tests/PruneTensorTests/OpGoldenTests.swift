import PruneTensor
import PruneTestSupport
import Testing

/// Ops against PyTorch goldens computed in float64 (`Tests/Fixtures/ops/ops.safetensors`, made by
/// `Tests/Fixtures/make_fixtures.py`): outputs and the gradients of `sum(output * upstream)`.
@Suite struct OpGoldenTests {
    /// One golden case: named inputs, the op, and which inputs have stored gradients.
    struct GoldenCase: CustomTestStringConvertible, Sendable {
        let name: String
        /// Inputs in order, with the stored gradient key of each (nil where PyTorch stored none).
        let inputs: [(key: String, gradient: String?)]
        let apply: @Sendable ([Tensor]) -> Tensor
        var testDescription: String { name }
    }

    static let cases: [GoldenCase] = [
        GoldenCase(name: "conv3x3_s1", inputs: [("input", "grad_input"), ("weight", "grad_weight"), ("bias", "grad_bias")]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], stride: (1, 1), padding: (1, 1))
        },
        GoldenCase(name: "conv3x3_s2", inputs: [("input", "grad_input"), ("weight", "grad_weight"), ("bias", "grad_bias")]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1))
        },
        GoldenCase(name: "conv1x1", inputs: [("input", "grad_input"), ("weight", "grad_weight"), ("bias", "grad_bias")]) {
            conv2d($0[0], weight: $0[1], bias: $0[2])
        },
        GoldenCase(name: "group_norm", inputs: [("input", "grad_input"), ("weight", "grad_weight"), ("bias", "grad_bias")]) {
            groupNorm($0[0], groups: 4, weight: $0[1], bias: $0[2], epsilon: 1e-5)
        },
        GoldenCase(name: "layer_norm", inputs: [("input", "grad_input"), ("weight", "grad_weight"), ("bias", "grad_bias")]) {
            layerNorm($0[0], weight: $0[1], bias: $0[2], epsilon: 1e-6)
        },
        GoldenCase(name: "layer_norm_noaffine", inputs: [("input", "grad_input")]) { layerNorm($0[0], epsilon: 1e-6) },
        GoldenCase(name: "rms_norm", inputs: [("input", "grad_input"), ("weight", "grad_weight")]) {
            rmsNorm($0[0], weight: $0[1], epsilon: 1e-6)
        },
        GoldenCase(name: "sdpa", inputs: [("q", "grad_q"), ("k", "grad_k"), ("v", "grad_v")]) {
            scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2])
        },
        GoldenCase(name: "gelu_erf", inputs: [("input", "grad_input")]) { $0[0].gelu() },
        GoldenCase(name: "gelu_tanh", inputs: [("input", "grad_input")]) { $0[0].gelu(approximateWithTanh: true) },
        GoldenCase(name: "silu", inputs: [("input", "grad_input")]) { $0[0].silu() },
        GoldenCase(name: "softplus", inputs: [("input", "grad_input")]) { $0[0].softplus() },
        GoldenCase(name: "softmax", inputs: [("input", "grad_input")]) { $0[0].softmax(axis: -1) },
        GoldenCase(name: "log_softmax", inputs: [("input", "grad_input")]) { $0[0].logSoftmax(axis: -1) },
        GoldenCase(name: "upsample_nearest2x", inputs: [("input", "grad_input")]) { $0[0].upsampledNearest2x() },
        GoldenCase(name: "upsample_nearest_size", inputs: [("input", "grad_input")]) {
            $0[0].upsampledNearest(height: 7, width: 9)
        },
        GoldenCase(name: "flux_rope", inputs: [("input", "grad_input"), ("cos", nil), ("sin", nil)]) {
            applyRotaryEmbedding($0[0], cos: $0[1], sin: $0[2])
        },
    ]

    @Test("Each op matches PyTorch's output and gradients within 1e-5", arguments: cases)
    func matchesPyTorch(golden: GoldenCase) throws {
        let file = try SafetensorsFile.open(Fixtures.path("ops/ops.safetensors"))
        let inputs = try golden.inputs.map { entry in
            let tensor = try file.tensor("\(golden.name).\(entry.key)").converted(to: .float32)
            tensor.requiresGradient = entry.gradient != nil
            return tensor
        }
        let output = golden.apply(inputs)
        let outputError = maximumRelativeError(output, try file.tensor("\(golden.name).output"))
        #expect(outputError <= 1e-5, "output of \(golden.name): \(outputError)")
        (output * (try file.tensor("\(golden.name).upstream"))).sum().backward()
        for (tensor, entry) in zip(inputs, golden.inputs) {
            guard let gradientKey = entry.gradient else { continue }
            let gradient = try #require(tensor.gradient, "\(golden.name): no gradient for \(entry.key)")
            let error = maximumRelativeError(gradient, try file.tensor("\(golden.name).\(gradientKey)"))
            #expect(error <= 1e-5, "\(golden.name) \(gradientKey): \(error)")
        }
    }
}
