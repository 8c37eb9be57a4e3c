import PruneKit
import PruneNN
import PruneTensor
import Testing

/// ``ParameterSurgery`` on a hand-made parameter dictionary: an attention with 2 heads of width 2, a GEGLU
/// feed-forward of width 3, and a FLUX-single-like block whose output projection `single.out.weight`
/// `[2, 6]` takes 2 head columns, then 3 MLP columns, then one column no unit owns.
@Suite struct SurgeryTests {
    /// A `[rows, columns]` tensor whose entry `(r, c)` is `r·columns + c`.
    static func counting(_ rows: Int, _ columns: Int) -> Tensor {
        Tensor((0..<(rows * columns)).map(Float.init), shape: [rows, columns])
    }

    /// The entries of `counting(rows, columns)` at `rowIndices × columnIndices`.
    static func entries(_ columns: Int, rows rowIndices: [Int], columns columnIndices: [Int]) -> [Float] {
        rowIndices.flatMap { r in columnIndices.map { c in Float(r * columns + c) } }
    }

    static let parameters: [String: Tensor] = [
        "blk.attn.to_q.weight": counting(4, 3), "blk.attn.to_q.bias": Tensor([0, 1, 2, 3], shape: [4]),
        "blk.attn.to_out.weight": counting(3, 4), "blk.attn.to_out.bias": Tensor([7, 8, 9], shape: [3]),
        "blk.ff.proj.weight": counting(6, 3), "blk.ff.proj.bias": Tensor([0, 1, 2, 3, 4, 5], shape: [6]),
        "blk.ff.down.weight": counting(3, 3),
        "single.q.weight": counting(2, 3), "single.mlp.weight": counting(3, 3), "single.out.weight": counting(2, 6),
        "other.weight": counting(2, 2),
    ]

    static let groups: [UnitGroup] = [
        UnitGroup(
            moduleKey: "blk.attn", kind: .attentionHead, unitCount: 2,
            slices: [
                ParameterSlice(key: "blk.attn.to_q.weight", axis: 0, width: 2), ParameterSlice(key: "blk.attn.to_q.bias", axis: 0, width: 2),
                ParameterSlice(key: "blk.attn.to_out.weight", axis: 1, width: 2),
            ]),
        UnitGroup(
            moduleKey: "blk.ff", kind: .feedForwardNeuron, unitCount: 3,
            slices: [
                ParameterSlice(key: "blk.ff.proj.weight", axis: 0, offset: 0, width: 1),
                ParameterSlice(key: "blk.ff.proj.weight", axis: 0, offset: 3, width: 1),
                ParameterSlice(key: "blk.ff.proj.bias", axis: 0, offset: 0, width: 1),
                ParameterSlice(key: "blk.ff.proj.bias", axis: 0, offset: 3, width: 1),
                ParameterSlice(key: "blk.ff.down.weight", axis: 1, width: 1),
            ]),
        UnitGroup(
            moduleKey: "single.attn", kind: .attentionHead, unitCount: 2,
            slices: [ParameterSlice(key: "single.q.weight", axis: 0, width: 1), ParameterSlice(key: "single.out.weight", axis: 1, offset: 0, width: 1)]),
        UnitGroup(
            moduleKey: "single.mlp", kind: .feedForwardNeuron, unitCount: 3,
            slices: [ParameterSlice(key: "single.mlp.weight", axis: 0, width: 1), ParameterSlice(key: "single.out.weight", axis: 1, offset: 2, width: 1)]),
    ]

    static let selection = UnitSelection(kept: ["blk.attn": [1], "blk.ff": [2, 0], "single.attn": [], "single.mlp": [2, 0, 2]])

    @Test("Kept units keep their rows and columns in order; unowned entries and untouched tensors stay")
    func slicesKeptUnits() throws {
        let pruned = try ParameterSurgery.prune(Self.parameters, groups: Self.groups, selection: Self.selection)
        #expect(Set(pruned.keys) == Set(Self.parameters.keys))
        func check(_ key: String, _ shape: [Int], _ values: [Float]) {
            #expect(pruned[key]!.shape == shape, "\(key)")
            #expect(pruned[key]!.scalars() == values, "\(key)")
        }
        check("blk.attn.to_q.weight", [2, 3], Self.entries(3, rows: [2, 3], columns: [0, 1, 2]))
        check("blk.attn.to_q.bias", [2], [2, 3])
        check("blk.attn.to_out.weight", [3, 2], Self.entries(4, rows: [0, 1, 2], columns: [2, 3]))
        check("blk.attn.to_out.bias", [3], [7, 8, 9])
        check("blk.ff.proj.weight", [4, 3], Self.entries(3, rows: [0, 2, 3, 5], columns: [0, 1, 2]))
        check("blk.ff.proj.bias", [4], [0, 2, 3, 5])
        check("blk.ff.down.weight", [3, 2], Self.entries(3, rows: [0, 1, 2], columns: [0, 2]))
        check("single.q.weight", [0, 3], [])
        check("single.mlp.weight", [2, 3], Self.entries(3, rows: [0, 2], columns: [0, 1, 2]))
        // Head columns 0, 1 removed; MLP neurons 0 and 2 are columns 2 and 4; column 5 belongs to no unit.
        check("single.out.weight", [2, 3], Self.entries(6, rows: [0, 1], columns: [2, 4, 5]))
        #expect(pruned["other.weight"]! === Self.parameters["other.weight"]!)
    }

    @Test("The pruned groups describe the pruned tensors and the removed parameters add up")
    func prunedGroupsAndCounts() throws {
        let surgery = try ParameterSurgery(groups: Self.groups, selection: Self.selection, parameters: Self.parameters)
        let pruned = try surgery.apply(to: Self.parameters)
        let groups = surgery.prunedGroups
        #expect(groups.map(\.unitCount) == [1, 2, 0, 2])
        #expect(groups[1].slices.map(\.offset) == [0, 2, 0, 2, 0])
        #expect(groups[3].slices.map(\.offset) == [0, 0])
        for group in groups {
            for slice in group.slices {
                #expect(pruned[slice.key]!.shape[slice.axis] >= slice.offset + group.unitCount * slice.width, "\(slice.key)")
            }
        }
        let before = Self.parameters.values.reduce(0) { $0 + $1.count }
        let after = pruned.values.reduce(0) { $0 + $1.count }
        let perUnit = Self.selection.removedParameterCount(in: Self.groups) { Self.parameters[$0]?.shape }
        #expect(surgery.removedParameterCount == before - after)
        #expect(perUnit == before - after)
        // One head of blk.attn (2·3 + 2 + 3·2), one GEGLU neuron (2·3 + 2 + 3), two single heads (3 + 2 each),
        // one MLP neuron (3 + 2).
        #expect(before - after == 14 + 11 + 10 + 5)
    }

    @Test("Every unit kept leaves every tensor as it was")
    func keepingAllIsIdentity() throws {
        let pruned = try ParameterSurgery.prune(Self.parameters, groups: Self.groups, selection: .keepingAll)
        for (key, tensor) in Self.parameters { #expect(pruned[key]!.scalars() == tensor.scalars() && pruned[key]!.shape == tensor.shape) }
    }

    @Test("Bad selections and groups are typed errors naming the module")
    func typedErrors() throws {
        #expect(throws: SurgeryError.keptIndexOutOfRange(module: "blk.ff", index: 3, unitCount: 3)) {
            try ParameterSurgery.prune(Self.parameters, groups: Self.groups, selection: UnitSelection(kept: ["blk.ff": [0, 3]]))
        }
        #expect(throws: SurgeryError.unknownModule("blk.attn3")) {
            try ParameterSurgery.prune(Self.parameters, groups: Self.groups, selection: UnitSelection(kept: ["blk.attn3": [0]]))
        }
        var missing = Self.parameters
        missing["blk.ff.down.weight"] = nil
        #expect(throws: SurgeryError.missingParameter(key: "blk.ff.down.weight", module: "blk.ff")) {
            try ParameterSurgery.prune(missing, groups: Self.groups, selection: .keepingAll)
        }
        var tooWide = Self.groups
        tooWide[0].unitCount = 3
        #expect(throws: SurgeryError.sliceOutOfBounds(key: "blk.attn.to_q.weight", axis: 0, range: 4..<6, extent: 4, module: "blk.attn")) {
            try ParameterSurgery.prune(Self.parameters, groups: tooWide, selection: .keepingAll)
        }
        var badAxis = Self.groups
        badAxis[0].slices[1].axis = 1
        #expect(throws: SurgeryError.axisOutOfRange(key: "blk.attn.to_q.bias", axis: 1, shape: [4], module: "blk.attn")) {
            try ParameterSurgery.prune(Self.parameters, groups: badAxis, selection: .keepingAll)
        }
        #expect(throws: SurgeryError.duplicateModule("blk.ff")) {
            try ParameterSurgery.prune(Self.parameters, groups: Self.groups + [Self.groups[1]], selection: .keepingAll)
        }
        let surgery = try ParameterSurgery(groups: Self.groups, selection: Self.selection, parameters: Self.parameters)
        var reshaped = Self.parameters
        reshaped["single.q.weight"] = Self.counting(3, 3)
        #expect(throws: SurgeryError.shapeMismatch(key: "single.q.weight", planned: [2, 3], actual: [3, 3])) {
            try surgery.apply(to: reshaped)
        }
    }

    @Test("Masks binarise at 0.5 and round-trip through binary masks")
    func selectionFromMasks() throws {
        let masks = UnitMasks(["blk.attn": Tensor([0.2, 0.9], shape: [2]), "blk.ff": Tensor([0.5, 0.51, 0], shape: [3])])
        let selection = try UnitSelection(masks: masks, groups: Self.groups)
        #expect(selection.kept == ["blk.attn": [1], "blk.ff": [1]])
        #expect(selection.keptUnits(of: Self.groups[3]) == [0, 1, 2])
        #expect(selection.removedUnitCount(in: Self.groups) == 3)
        let binary = selection.binaryMasks(for: Self.groups)
        #expect(binary["blk.ff"]!.scalars() == [0, 1, 0])
        #expect(binary["single.mlp"]!.scalars() == [1, 1, 1])
        #expect(try UnitSelection(masks: binary, groups: Self.groups).keptUnits(of: Self.groups[1]) == [1])
        #expect(throws: SurgeryError.maskShape(module: "blk.ff", expected: [3], actual: [2])) {
            try UnitSelection(masks: UnitMasks(["blk.ff": Tensor([1, 1], shape: [2])]), groups: Self.groups)
        }
        #expect(throws: SurgeryError.unknownModule("nowhere")) {
            try UnitSelection(masks: UnitMasks(["nowhere": Tensor([1], shape: [1])]), groups: Self.groups)
        }
    }
}
