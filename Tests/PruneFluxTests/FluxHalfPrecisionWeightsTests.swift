import Foundation
import PruneFlux
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

/// A FLUX transformer loaded from a bfloat16 file keeps its Linear weights in bfloat16 and computes what the float32
/// model computes on the same rounded weights, masked forward and mask gradients included.
@Suite struct FluxHalfPrecisionWeightsTests {
    /// The fixture's model rounded to bfloat16, loaded from a bf16 variant and from a float32 file of the same values.
    static func models(_ fixture: FluxFixture) throws -> (half: LoadedFluxModel, float32: LoadedFluxModel, root: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-flux-bf16-\(UUID().uuidString)").path
        let (half, float32) = (root + "/bf16", root + "/float32")
        let file = try fixture.file("diffusion_pytorch_model")
        var rounded: [String: Tensor] = [:]
        for key in file.keys { rounded[key] = try file.tensor(key).converted(to: .bfloat16).converted(to: .float32) }
        for directory in [half, float32] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: fixture.directory + "/config.json", toPath: directory + "/config.json")
        }
        try SafetensorsWriter.write(rounded, to: half + "/diffusion_pytorch_model.bf16.safetensors", dtype: .bfloat16)
        try SafetensorsWriter.write(rounded, to: float32 + "/diffusion_pytorch_model.safetensors")
        return (try FluxModelLoader.load(directory: half), try FluxModelLoader.load(directory: float32), root)
    }

    @Test("bfloat16 Linear weights stay resident as bfloat16 and the output matches float32 within 1e-6", arguments: FluxFixture.all)
    func forwardMatchesRoundedFloat32(fixture: FluxFixture) throws {
        let (half, full, root) = try Self.models(fixture)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dtypes = half.parameters.parameters.mapValues(\.dtype)
        #expect(dtypes.filter { $0.key.hasSuffix("attn.to_q.weight") }.values.allSatisfy { $0 == .bfloat16 })
        #expect(dtypes.filter { $0.key.hasSuffix("norm_q.weight") || $0.key.hasSuffix(".bias") }.values.allSatisfy { $0 == .float32 })
        let inputs = try fixture.inputs()
        let (a, b) = withoutGradients { (inputs.run(half.model), inputs.run(full.model)) }
        print("[\(fixture)] bf16 weights vs float32 on rounded weights: \(maximumRelativeError(a, b))")
        #expect(maximumRelativeError(a, b) <= 1e-6)
    }

    @Test("Mask gradients of a masked forward and backward through bfloat16 weights match float32 within 1e-6", arguments: FluxFixture.all)
    func maskGradientsMatch(fixture: FluxFixture) throws {
        let (half, full, root) = try Self.models(fixture)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let inputs = try fixture.inputs()
        func maskGradients(_ loaded: LoadedFluxModel) throws -> [String: Tensor] {
            let masks = try fixture.masks(requiringGradient: true)
            let output = withGradients { inputs.run(loaded.model, masks: masks) }
            output.backward(seed: Tensor.randomNormal(output.shape, seed: 12))
            return masks.byModule.mapValues { $0.gradient! }
        }
        let (a, b) = (try maskGradients(half), try maskGradients(full))
        #expect(a.keys.sorted() == b.keys.sorted() && !a.isEmpty)
        let worst = b.keys.map { maximumRelativeError(a[$0]!, b[$0]!) }.max()!
        print("[\(fixture)] mask gradients, bf16 weights vs float32: \(worst)")
        #expect(worst <= 1e-6)
    }
}
