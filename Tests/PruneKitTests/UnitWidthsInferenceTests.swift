import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// Reload's generic width inference (``UnitWidths/init(inferredFrom:layout:)``): the unpruned model's unit
/// groups and a checkpoint's shapes give the kept units of every module, for any architecture.
@Suite struct UnitWidthsInferenceTests {
    /// A tensor source that only has shapes (what inference reads).
    struct ShapeSource: TensorSource {
        var shapes: [String: [Int]]
        var keys: [String] { shapes.keys.sorted() }
        func shape(of key: String) -> [Int]? { shapes[key] }
        func tensor(_ key: String) throws -> Tensor { Tensor.zeros(shapes[key]!) }
    }

    static let fluxConfiguration = FluxConfiguration(
        inChannels: 16, doubleBlockCount: 2, singleBlockCount: 2, headDimension: 8, headCount: 3,
        jointAttentionDimension: 12, pooledProjectionDimension: 10, guidanceEmbeds: true, ropeAxesDimensions: [2, 2, 4])

    /// Pruned widths for both architectures, with zero-width modules and untouched ones.
    static let cases: [(name: String, widths: UnitWidths)] = [
        ("flux", UnitWidths([
            "transformer_blocks.0.attn": 1, "transformer_blocks.0.ff": 5, "transformer_blocks.1.ff_context": 0,
            "single_transformer_blocks.0.attn": 0, "single_transformer_blocks.1.mlp": 7,
        ])),
        ("sdxl", UnitWidths([
            "down_blocks.1.attentions.0.transformer_blocks.0.attn1": 1, "down_blocks.1.attentions.0.transformer_blocks.0.ff": 3,
            "mid_block.attentions.0.transformer_blocks.0.attn2": 0, "up_blocks.0.attentions.1.transformer_blocks.0.ff": 0,
        ])),
    ]

    static func layout(_ name: String, widths: UnitWidths = .configuration) throws -> ModelLayout {
        name == "flux"
            ? FluxTransformer2DModel.layout(configuration: fluxConfiguration, widths: widths)
            : try UNet2DConditionModel.layout(of: .sdxlTinyTest, widths: widths)
    }

    @Test("The shapes of a pruned layout give back exactly its widths, for FLUX and SDXL", arguments: [0, 1])
    func inferenceInvertsTheLayout(index: Int) throws {
        let (name, widths) = Self.cases[index]
        let unpruned = try Self.layout(name)
        let pruned = try Self.layout(name, widths: widths)
        #expect(pruned.shapes != unpruned.shapes)
        #expect(try UnitWidths(inferredFrom: ShapeSource(shapes: pruned.shapes), layout: unpruned) == widths)
        #expect(try UnitWidths(inferredFrom: ShapeSource(shapes: unpruned.shapes), layout: unpruned) == .configuration)
        #expect(UnitWidths(layout: pruned).counts.filter { widths[$0.key] != nil } == widths.counts)
    }

    @Test("An absent tensor, or one mis-shaped off the unit axis, keeps the configuration's width for loading to report")
    func absentOrOffAxisTensorsSayNothing() throws {
        let unpruned = try Self.layout("sdxl")
        var shapes = unpruned.shapes
        let block = "down_blocks.1.attentions.0.transformer_blocks.0"
        for projection in ["to_q", "to_k", "to_v"] { shapes["\(block).attn1.\(projection).weight"] = nil }
        shapes["\(block).attn1.to_out.0.weight"]![0] += 1
        #expect(try UnitWidths(inferredFrom: ShapeSource(shapes: shapes), layout: unpruned) == .configuration)
    }

    @Test("Rows that are no whole number of heads are one error naming the key and the expected extent")
    func partialHeadIsAnError() throws {
        let unpruned = try Self.layout("flux")
        var shapes = unpruned.shapes
        shapes["transformer_blocks.1.attn.to_q.weight"] = [12, 24]
        let error = try #require(throws: UnitWidthsError.self) { try UnitWidths(inferredFrom: ShapeSource(shapes: shapes), layout: unpruned) }
        #expect(error == .notWholeUnits(module: "transformer_blocks.1.attn", key: "transformer_blocks.1.attn.to_q.weight", shape: [12, 24], axis: 0, fixed: 0, perUnit: 8))
        #expect(error.description == "transformer_blocks.1.attn.to_q.weight [12, 24]: axis 0 holds no whole number of transformer_blocks.1.attn's units (expected n·8 for a whole n ≥ 0)")
    }

    @Test("Two tensors of one module that give different unit counts are an error naming both")
    func inconsistentTensorsAreAnError() throws {
        let unpruned = try Self.layout("sdxl")
        var shapes = unpruned.shapes
        let ff = "up_blocks.0.attentions.0.transformer_blocks.0.ff"
        let inner = shapes["\(ff).net.2.weight"]![1]
        shapes["\(ff).net.2.weight"]![1] = inner - 1
        #expect(throws: UnitWidthsError.inconsistent(module: ff, key: "\(ff).net.0.proj.weight", units: inner, otherKey: "\(ff).net.2.weight", otherUnits: inner - 1)) {
            try UnitWidths(inferredFrom: ShapeSource(shapes: shapes), layout: unpruned)
        }
    }

    @Test("Loading a checkpoint whose head rows are cut mid-head fails with the inference error, not a trap")
    func loaderReportsTheKey() throws {
        let configuration = Self.fluxConfiguration
        let full = FluxModelLoader.random(configuration: configuration, seed: 2)
        var tensors = full.parameters.parameters.mapValues { $0.detached() }
        tensors["single_transformer_blocks.0.attn.to_k.weight"] = Tensor.zeros([20, 24])
        #expect {
            try FluxModelLoader.load(configuration: configuration, source: DictionaryTensorSource(tensors), sourceName: "cut", widths: .inferredFromWeights)
        } throws: { error in
            "\(error)".contains("single_transformer_blocks.0.attn.to_k.weight [20, 24]") && error is UnitWidthsError
        }
    }

    @Test("Widths round-trip through JSON as a plain object")
    func codable() throws {
        let widths = UnitWidths(["transformer_blocks.0.attn": 2])
        let data = try JSONEncoder().encode(widths)
        #expect(String(decoding: data, as: UTF8.self) == #"{"transformer_blocks.0.attn":2}"#)
        #expect(try JSONDecoder().decode(UnitWidths.self, from: data) == widths)
    }
}
