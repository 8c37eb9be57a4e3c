import Foundation
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// A U-Net loaded from a float16 file keeps its Linear/Conv2d weights in float16 and computes what the float32
/// model computes on the same rounded weights (widening is exact).
@Suite struct HalfPrecisionWeightsTests {
    /// Writes the fixture `name` twice, rounded to float16: as an fp16 variant, and widened back to float32.
    /// - Returns: the two model directories (the caller removes `root`).
    static func roundedCopies(of name: String) throws -> (root: String, half: String, float32: String) {
        let root = SurgeryExportTests.temporaryDirectory("\(name)-fp16")
        let (half, float32) = (root + "/fp16", root + "/float32")
        let file = try SafetensorsFile.open(Fixtures.path("\(name)/diffusion_pytorch_model.safetensors"))
        var rounded: [String: Tensor] = [:]
        for key in file.keys { rounded[key] = try file.tensor(key).converted(to: .float16).converted(to: .float32) }
        for directory in [half, float32] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Fixtures.path("\(name)/config.json"), toPath: directory + "/config.json")
        }
        try SafetensorsWriter.write(rounded, to: half + "/diffusion_pytorch_model.fp16.safetensors", dtype: .float16)
        try SafetensorsWriter.write(rounded, to: float32 + "/diffusion_pytorch_model.safetensors")
        return (root, half, float32)
    }

    @Test("Linear and Conv2d weights of an fp16 file stay float16, the rest is float32, and the output matches within 1e-6",
          arguments: SurgeryExportTests.cases)
    func forwardMatchesRoundedFloat32(name: String) throws {
        let copies = try Self.roundedCopies(of: name)
        defer { try? FileManager.default.removeItem(atPath: copies.root) }
        let (halfModel, halfStore) = try UNet2DConditionModel.load(directory: copies.half)
        let (fullModel, fullStore) = try UNet2DConditionModel.load(directory: copies.float32)
        let dtypes = halfStore.parameters.mapValues(\.dtype)
        #expect(dtypes["conv_in.weight"] == .float16 && dtypes["conv_in.bias"] == .float32)
        #expect(dtypes.filter { $0.key.hasSuffix("to_q.weight") }.values.allSatisfy { $0 == .float16 })
        #expect(dtypes.filter { $0.key.hasSuffix("norm1.weight") }.values.allSatisfy { $0 == .float32 })
        #expect(halfStore.storedByteCount < fullStore.storedByteCount * 6 / 10)

        let inputs = try SurgeryExportTests.inputs(name)
        let (half, full) = try withoutGradients { (try halfModel(inputs), try fullModel(inputs)) }
        let error = maximumRelativeError(half, full)
        print("\(name) fp16 weights vs float32 on rounded weights: \(error); resident parameter bytes \(fullStore.storedByteCount) → \(halfStore.storedByteCount)")
        #expect(error <= 1e-6)
    }

    @Test("Mask gradients through float16 weights match the float32 model's within 1e-6", arguments: SurgeryExportTests.cases)
    func maskGradientsMatch(name: String) throws {
        let copies = try Self.roundedCopies(of: name)
        defer { try? FileManager.default.removeItem(atPath: copies.root) }
        let inputs = try SurgeryExportTests.inputs(name)
        let fixtureMasks = try UnitMasks.load(path: Fixtures.path("\(name)/masks.safetensors"))
        func maskGradients(_ directory: String) throws -> [String: Tensor] {
            let (model, _) = try UNet2DConditionModel.load(directory: directory)
            var masks = UnitMasks()
            for (module, mask) in fixtureMasks.byModule { masks[module] = Tensor(mask.scalars(), shape: mask.shape, requiresGradient: true) }
            let output = try withGradients { try model(inputs, masks: masks) }
            output.backward(seed: Tensor.randomNormal(output.shape, seed: 11))
            return masks.byModule.mapValues { $0.gradient! }
        }
        let (half, full) = (try maskGradients(copies.half), try maskGradients(copies.float32))
        #expect(half.keys.sorted() == full.keys.sorted() && !half.isEmpty)
        let worst = full.keys.map { maximumRelativeError(half[$0]!, full[$0]!) }.max()!
        print("\(name) mask gradients, fp16 weights vs float32: \(worst)")
        #expect(worst <= 1e-6)
    }

    @Test("A pruned export of the fp16 model reloads (as float32) and matches the float32 model's export within 1e-6")
    func exportReloads() throws {
        let name = "sdxl-tiny"
        let copies = try Self.roundedCopies(of: name)
        defer { try? FileManager.default.removeItem(atPath: copies.root) }
        func exported(_ directory: String, to target: String) throws -> Tensor {
            let (model, store) = try UNet2DConditionModel.load(directory: directory)
            let selection = try SurgeryExportTests.selection(name, groups: model.unitGroups)
            try model.exportPruned(parameters: store, selection: selection, to: target)
            let (pruned, prunedStore) = try UNet2DConditionModel.load(directory: target)
            #expect(prunedStore.parameters.values.allSatisfy { $0.dtype == .float32 }, "the export writes float32")
            #expect(prunedStore.parameterCount < store.parameterCount)
            return try withoutGradients { try pruned(try SurgeryExportTests.inputs(name)) }
        }
        let half = try exported(copies.half, to: copies.root + "/export-fp16")
        let full = try exported(copies.float32, to: copies.root + "/export-float32")
        #expect(maximumRelativeError(half, full) <= 1e-6)
    }
}
