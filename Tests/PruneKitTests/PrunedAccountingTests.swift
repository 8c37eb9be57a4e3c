import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// Counting a pruned model from its layout alone (`ModelLayout`, `PrunedAccounting`).
@Suite struct PrunedAccountingTests {
    /// A seeded selection keeping about half the units of every other module (one module emptied).
    static func selection(for groups: [UnitGroup], seed: UInt64) -> UnitSelection {
        var generator = SeededGenerator(seed: seed)
        var selection = UnitSelection()
        for (index, group) in groups.enumerated() where index % 2 == 0 {
            selection.setKept(index == 0 ? [] : (0..<group.unitCount).filter { _ in generator.nextUniform() < 0.5 }, for: group.moduleKey)
        }
        return selection
    }

    @Test("The counted parameters equal what surgery leaves, for the SDXL and FLUX fixtures", arguments: ["sdxl-tiny", "flux-tiny"])
    func equalsSurgery(fixture: String) throws {
        let model = try fixture.hasPrefix("sdxl")
            ? SDXLArchitecture().load(directory: Fixtures.path(fixture)) : FluxArchitecture().load(directory: Fixtures.path(fixture))
        let groups = model.unitGroups(of: [.attentionHead, .feedForwardNeuron])  // blocks: BlockUnitTests, FluxBlockUnitTests, SDXLBlockUnitTests
        let selection = Self.selection(for: groups, seed: 5)
        let counts = try PrunedAccounting(layout: model.layout, selection: selection)
        let pruned = try ParameterSurgery.prune(model.parameters.parameters, groups: groups, selection: selection)
        #expect(counts.parameters == pruned.values.reduce(0) { $0 + $1.count })
        #expect(counts.original == model.accounting)
        #expect(counts.removedParameters == selection.removedParameterCount(in: groups, shapes: { model.parameters.parameters[$0]?.shape }))
        #expect(counts.heads == groups.filter { $0.kind == .attentionHead }.reduce(0) { $0 + selection.keptUnits(of: $1).count })
        #expect(counts.ffnNeurons == groups.filter { $0.kind == .feedForwardNeuron }.reduce(0) { $0 + selection.keptUnits(of: $1).count })
        #expect(counts.units["head"]!.removedParameters + counts.units["neuron"]!.removedParameters == counts.removedParameters)
        #expect(abs(counts.removedShare - Double(counts.removedParameters) / Double(counts.original.parameters)) < 1e-15)
        #expect(counts.removedParameters > 0)

        let json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(counts)) as? [String: Any]
        #expect(json?["parameters"] as? Int == counts.parameters)
        #expect(json?["ffn_neurons"] as? Int == counts.ffnNeurons)
        #expect((json?["units"] as? [String: Any])?["head"] != nil)
    }

    @Test("A preset's shapes-only layout is the layout of the built model, and counts like the preset's accounting")
    func presetLayouts() throws {
        let sdxl = SDXLArchitecture()
        #expect(try sdxl.layout(preset: "sdxl-tiny") == sdxl.makeModel(preset: "sdxl-tiny", seed: 1).layout)
        for (architecture, preset) in [(sdxl as any PrunableArchitecture, "sdxl-base"), (FluxArchitecture(), "flux-dev"), (FluxArchitecture(), "flux-bench")] {
            let counts = try PrunedAccounting(layout: try architecture.layout(preset: preset), selection: .keepingAll)
            #expect(counts.original == (try architecture.accounting(preset: preset)), "\(preset)")
            #expect(counts.parameters == counts.original.parameters && counts.removedParameters == 0)
        }
    }

    @Test("A selection naming a module the layout lacks, or a unit beyond it, is a typed error")
    func badSelection() throws {
        let layout = try SDXLArchitecture().layout(preset: "sdxl-tiny")
        #expect(throws: SurgeryError.unknownModule("nope")) {
            try PrunedAccounting(layout: layout, selection: UnitSelection(kept: ["nope": [0]]))
        }
        let key = layout.groups[0].moduleKey
        #expect(throws: SurgeryError.keptIndexOutOfRange(module: key, index: 9, unitCount: layout.groups[0].unitCount)) {
            try PrunedAccounting(layout: layout, selection: UnitSelection(kept: [key: [9]]))
        }
    }
}
