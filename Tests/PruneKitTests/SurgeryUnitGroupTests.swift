import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// The SDXL and FLUX adapters declare their maskable units exactly as the fixtures' masks name them, and
/// the full-size models have EcoDiff's unit counts and per-unit costs.
@Suite struct SurgeryUnitGroupTests {
    /// `[key, units, kind]` of `masks.safetensors` `__metadata__["modules"]`, in module order.
    static func maskModules(_ fixture: String) throws -> [(key: String, units: Int)] {
        let file = try SafetensorsFile.open(Fixtures.path("\(fixture)/masks.safetensors"))
        let rows = try JSONSerialization.jsonObject(with: Data((file.metadata["modules"] ?? "[]").utf8)) as? [[Any]] ?? []
        for row in rows {
            #expect(file.info("mask.\(row[0] as! String)")?.shape == [row[1] as! Int], "mask.\(row[0]) shape")
        }
        return rows.map { ($0[0] as! String, $0[1] as! Int) }
    }

    /// The unit groups of a fixture's model, loaded from its directory.
    static func unitGroups(_ fixture: String) throws -> [UnitGroup] {
        // Heads and neurons, the modules the fixture masks files list (the block lists are BlockUnitTests' and the adapters').
        if fixture.hasPrefix("sdxl") { return try UNet2DConditionModel.load(directory: Fixtures.path(fixture)).model.unitGroups.filter { !$0.isBlockList } }
        return try FluxModelLoader.load(directory: Fixtures.path(fixture), widths: .inferredFromWeights).model.unitGroups.filter { !$0.isBlockList }
    }

    /// The fixture's modules in execution order. The fixture lists them in PyTorch registration order,
    /// where a U-Net's `mid_block` comes after its `up_blocks`; the U-Net runs it in between.
    static func executionOrder(_ modules: [(key: String, units: Int)]) -> [(key: String, units: Int)] {
        let stage = { (key: String) in key.hasPrefix("down_blocks.") ? 0 : key.hasPrefix("mid_block.") ? 1 : 2 }
        return modules.enumerated().sorted { (stage($0.element.key), $0.offset) < (stage($1.element.key), $1.offset) }.map(\.element)
    }

    @Test("Unit groups list the masks' modules in execution order with their sizes", arguments: ["sdxl-tiny", "sdxl-small", "flux-tiny", "flux-small"])
    func groupsMatchMaskFile(fixture: String) throws {
        let groups = try Self.unitGroups(fixture)
        let modules = fixture.hasPrefix("sdxl") ? Self.executionOrder(try Self.maskModules(fixture)) : try Self.maskModules(fixture)
        #expect(groups.map(\.moduleKey) == modules.map(\.key))
        #expect(groups.map(\.unitCount) == modules.map(\.units))
        for group in groups {
            let isHead = group.moduleKey.hasSuffix(".attn") || group.moduleKey.hasSuffix(".attn1") || group.moduleKey.hasSuffix(".attn2")
            #expect(group.kind == (isHead ? .attentionHead : .feedForwardNeuron), "\(group.moduleKey)")
        }
    }

    @Test("SDXL base has 2600 heads and 332800 GEGLU neurons with EcoDiff's per-unit costs")
    func sdxlBaseCounts() throws {
        let layout = try UNet2DConditionModel.layout(of: .sdxlBase)
        let (all, shapes) = (layout.groups, layout.shapes)
        let groups = all.filter { !$0.isBlockList }
        #expect(groups.count == 210)
        // 11 Transformer2DModels (2 + 2 down, mid, 3 + 3 up) holding 70 blocks.
        #expect(all.filter(\.isBlockList).map(\.unitCount) == [2, 2, 10, 10, 10, 10, 10, 10, 2, 2, 2])
        #expect(groups.filter { $0.kind == .attentionHead }.reduce(0) { $0 + $1.unitCount } == 2600)
        #expect(groups.filter { $0.kind == .feedForwardNeuron }.reduce(0) { $0 + $1.unitCount } == 332_800)
        let cost = { (key: String) in groups.first { $0.moduleKey == key }!.parametersPerUnit { shapes[$0] } }
        #expect(cost("down_blocks.1.attentions.0.transformer_blocks.0.attn1") == 163_840)
        #expect(cost("down_blocks.1.attentions.0.transformer_blocks.0.attn2") == 344_064)
        #expect(cost("down_blocks.1.attentions.0.transformer_blocks.0.ff") == 1_922)
        #expect(cost("mid_block.attentions.0.transformer_blocks.9.attn1") == 327_680)
        #expect(cost("mid_block.attentions.0.transformer_blocks.9.attn2") == 425_984)
        #expect(cost("up_blocks.0.attentions.2.transformer_blocks.9.ff") == 3_842)
        #expect(groups.last?.moduleKey == "up_blocks.1.attentions.2.transformer_blocks.1.ff")
    }

    @Test("FLUX.1-dev has 1368 heads and 933888 FFN neurons with EcoDiff's per-unit costs")
    func fluxDevCounts() throws {
        let layout = FluxTransformer2DModel.layout(configuration: .fluxDev)
        let (all, byKey) = (layout.groups, layout.shapes)
        let groups = all.filter { !$0.isBlockList }
        #expect(all.filter(\.isBlockList).map(\.unitCount) == [19, 38])
        let blocks = (0..<19).flatMap { ["transformer_blocks.\($0).attn", "transformer_blocks.\($0).ff", "transformer_blocks.\($0).ff_context"] }
            + (0..<38).flatMap { ["single_transformer_blocks.\($0).attn", "single_transformer_blocks.\($0).mlp"] }
        #expect(groups.map(\.moduleKey) == blocks)
        #expect(groups.filter { $0.kind == .attentionHead }.reduce(0) { $0 + $1.unitCount } == 1368)
        #expect(groups.filter { $0.kind == .feedForwardNeuron }.reduce(0) { $0 + $1.unitCount } == 933_888)
        let cost = { (key: String) in groups.first { $0.moduleKey == key }!.parametersPerUnit { byKey[$0] } }
        #expect(cost("transformer_blocks.0.attn") == 3_146_496)
        #expect(cost("transformer_blocks.0.ff_context") == 6_145)
        #expect(cost("single_transformer_blocks.0.attn") == 1_573_248)
        #expect(cost("single_transformer_blocks.37.mlp") == 6_145)
    }
}
