import PruneTensor

/// Physical pruning for any architecture described by ``UnitGroup``s: which entries of which parameters
/// survive a ``UnitSelection``, and the sliced parameters themselves.
///
/// For every `(key, axis)` that some slice touches, the kept indices are the union of the kept units'
/// ranges over all slices on that `(key, axis)`, plus every index no slice owns. So a tensor shared by
/// several groups (FLUX single blocks' `proj_out`, whose columns are `[attention heads | MLP neurons]`)
/// loses exactly the removed units' columns of each group, and entries outside every group stay.
/// Indices are kept in their original order.
///
/// A ``UnitKind/block`` group removes whole blocks: every tensor a removed block owns is dropped, and the keys of
/// the kept blocks of the list are renumbered `0, 1, …` in their order (`transformer_blocks.3.attn.to_q.weight`
/// becomes `transformer_blocks.2.attn.to_q.weight` when one earlier block went). Head and neuron groups inside a
/// removed block go with it; those inside a kept block are renamed with it.
///
/// ```swift
/// let surgery = try ParameterSurgery(groups: model.unitGroups, selection: selection) { store.parameters[$0]?.shape }
/// let pruned = try surgery.apply(to: store.parameters)   // smaller tensors, same keys
/// ```
///
/// This implementation matches: EcoDiff `linear_layer_pruning` / `ffn_linear_layer_pruning` /
/// `update_flux_single_transformer_projection` (rows of producing projections, columns of consuming
/// ones), except that a module with every unit removed keeps its zero-width tensors (its output is its
/// output bias) instead of being replaced by an identity.
public struct ParameterSurgery: Sendable, Equatable {
    /// The unit groups before pruning.
    public let groups: [UnitGroup]
    /// The selection, checked against ``groups``.
    public let selection: UnitSelection
    /// Original shape of every parameter some slice touches.
    public let originalShapes: [String: [Int]]
    /// Kept indices by parameter key and axis, for every touched `(key, axis)` (ascending).
    public let keptIndices: [String: [Int: [Int]]]
    /// The tensors of removed blocks, with their shapes (dropped whole).
    public let droppedTensors: [String: [Int]]
    /// Key prefix renames of kept blocks that move (`transformer_blocks.3.` → `transformer_blocks.2.`).
    public let blockRenames: [String: String]

    /// Plans the surgery from parameter shapes alone (no tensor is read).
    ///
    /// - Parameters:
    ///   - groups: the model's unit groups (module keys unique).
    ///   - selection: the kept units; modules it does not mention keep every unit.
    ///   - shapes: the shape of a parameter by key, `nil` when absent.
    /// - Throws: ``SurgeryError`` for an unknown module, a kept index out of range, a slice that names a
    ///   missing parameter or axis, or one that reaches past the tensor.
    public init(groups: [UnitGroup], selection: UnitSelection, shapes: (String) -> [Int]?) throws(SurgeryError) {
        try selection.validate(against: groups)
        var originalShapes: [String: [Int]] = [:]
        // Per (key, axis): which indices some slice owns, and which of those belong to a kept unit.
        var owned: [String: [Int: [Bool]]] = [:]
        var keptMarks: [String: [Int: [Bool]]] = [:]
        for group in groups {
            let keptUnits = Set(selection.keptUnits(of: group))
            for slice in group.slices {
                guard let shape = shapes(slice.key) else { throw .missingParameter(key: slice.key, module: group.moduleKey) }
                guard slice.axis >= 0, slice.axis < shape.count else {
                    throw .axisOutOfRange(key: slice.key, axis: slice.axis, shape: shape, module: group.moduleKey)
                }
                originalShapes[slice.key] = shape
                let extent = shape[slice.axis]
                var ownedHere = owned[slice.key]?[slice.axis] ?? [Bool](repeating: false, count: extent)
                var keptHere = keptMarks[slice.key]?[slice.axis] ?? [Bool](repeating: false, count: extent)
                for unit in 0..<group.unitCount {
                    let range = slice.indices(ofUnit: unit)
                    guard range.lowerBound >= 0, range.upperBound <= extent else {
                        throw .sliceOutOfBounds(key: slice.key, axis: slice.axis, range: range, extent: extent, module: group.moduleKey)
                    }
                    let isKept = keptUnits.contains(unit)
                    for index in range {
                        ownedHere[index] = true
                        if isKept { keptHere[index] = true }
                    }
                }
                owned[slice.key, default: [:]][slice.axis] = ownedHere
                keptMarks[slice.key, default: [:]][slice.axis] = keptHere
            }
        }
        var droppedTensors: [String: [Int]] = [:]
        var blockRenames: [String: String] = [:]
        for group in groups where group.isBlockList {
            guard group.wholeTensors.count == group.unitCount else {
                throw .blockTensors(module: group.moduleKey, lists: group.wholeTensors.count, units: group.unitCount)
            }
            let keptUnits = selection.keptUnits(of: group)
            let keptSet = Set(keptUnits)
            for unit in 0..<group.unitCount {
                let prefix = group.blockPrefix(ofUnit: unit)
                for key in group.wholeTensors[unit] {
                    guard key.hasPrefix(prefix) else { throw .blockTensorOutside(key: key, module: group.moduleKey, prefix: prefix) }
                    guard let shape = shapes(key) else { throw .missingParameter(key: key, module: group.moduleKey) }
                    if !keptSet.contains(unit) { droppedTensors[key] = shape }
                }
            }
            for (position, unit) in keptUnits.enumerated() where position != unit {
                blockRenames[group.blockPrefix(ofUnit: unit)] = group.blockPrefix(ofUnit: position)
            }
        }
        var keptIndices: [String: [Int: [Int]]] = [:]
        for (key, axes) in owned where droppedTensors[key] == nil {
            for (axis, ownedHere) in axes {
                let keptHere = keptMarks[key]![axis]!
                keptIndices[key, default: [:]][axis] = ownedHere.indices.filter { !ownedHere[$0] || keptHere[$0] }
            }
        }
        self.groups = groups
        self.selection = selection
        self.originalShapes = originalShapes
        self.keptIndices = keptIndices
        self.droppedTensors = droppedTensors
        self.blockRenames = blockRenames
    }

    /// The key `key` has after pruning: renumbered when it lies in a kept block that moves, `nil` when it lies in a
    /// removed block, itself otherwise.
    public func prunedKey(_ key: String) -> String? {
        if droppedTensors[key] != nil { return nil }
        return renamed(key)
    }

    /// `key` with a moving block's prefix replaced (module keys as well as parameter keys).
    func renamed(_ key: String) -> String {
        guard !blockRenames.isEmpty else { return key }
        for (from, to) in blockRenames where key.hasPrefix(from) { return to + key.dropFirst(from.count) }
        return key
    }

    /// Plans the surgery from the parameters themselves; see ``init(groups:selection:shapes:)``.
    /// - Throws: ``SurgeryError``.
    public init(groups: [UnitGroup], selection: UnitSelection, parameters: [String: Tensor]) throws(SurgeryError) {
        try self.init(groups: groups, selection: selection) { parameters[$0]?.shape }
    }

    /// The shape of `key` after pruning, given its shape before.
    public func prunedShape(of key: String, original: [Int]) -> [Int] {
        var shape = original
        for (axis, indices) in keptIndices[key] ?? [:] { shape[axis] = indices.count }
        return shape
    }

    /// The unit groups of the pruned model: each unit count is the number of kept units and each slice's
    /// offset is moved to the number of kept indices before it (slices of one tensor axis are assumed to
    /// occupy disjoint, contiguous regions, as in every diffusers layer). Groups inside removed blocks are gone,
    /// those inside moved blocks renamed.
    public var prunedGroups: [UnitGroup] {
        let enclosing = groups.enclosingBlocks()
        let byKey = Dictionary(groups.map { ($0.moduleKey, $0) }, uniquingKeysWith: { first, _ in first })
        return groups.compactMap { group in
            if let block = enclosing[group.moduleKey], let list = byKey[block.list],
                !selection.keptUnits(of: list).contains(block.unit)
            {
                return nil
            }
            var pruned = group
            let kept = selection.keptUnits(of: group)
            pruned.unitCount = kept.count
            pruned.moduleKey = renamed(group.moduleKey)
            pruned.slices = group.slices.map { slice in
                var moved = slice
                let indices = keptIndices[slice.key]?[slice.axis] ?? []
                moved.offset = indices.partitioningIndex { $0 >= slice.offset }
                moved.key = renamed(slice.key)
                return moved
            }
            if group.isBlockList {
                pruned.wholeTensors = kept.map { unit in
                    group.wholeTensors[unit].map { renamed($0) }
                }
            }
            return pruned
        }
    }

    /// Parameters removed: the touched tensors' entries (before minus after) and every tensor of a removed block.
    public var removedParameterCount: Int {
        let sliced = originalShapes.reduce(0) { total, entry in
            guard droppedTensors[entry.key] == nil else { return total }
            return total + entry.value.reduce(1, *) - prunedShape(of: entry.key, original: entry.value).reduce(1, *)
        }
        return sliced + droppedTensors.values.reduce(0) { $0 + $1.reduce(1, *) }
    }

    /// The sliced tensors: every touched parameter loses the removed units' entries (a fresh contiguous
    /// copy); every other parameter is returned as it is; removed blocks' tensors are dropped and moved blocks'
    /// keys renumbered (``prunedKey(_:)``). The result is not recorded on the tape.
    ///
    /// - Parameter parameters: tensors by checkpoint key (as planned).
    /// - Returns: the pruned keys with pruned shapes.
    /// - Throws: ``SurgeryError/missingParameter(key:module:)`` when a planned key is absent, or
    ///   ``SurgeryError/shapeMismatch(key:planned:actual:)`` when its shape differs from the plan.
    public func apply(to parameters: [String: Tensor]) throws(SurgeryError) -> [String: Tensor] {
        var result = parameters
        for key in droppedTensors.keys where parameters[key] == nil {
            throw .missingParameter(key: key, module: module(touching: key))
        }
        for key in keptIndices.keys.sorted() {
            guard let tensor = parameters[key] else { throw .missingParameter(key: key, module: module(touching: key)) }
            let original = originalShapes[key]!
            guard tensor.shape == original else { throw .shapeMismatch(key: key, planned: original, actual: tensor.shape) }
            var sliced = tensor.detached()
            for (axis, indices) in keptIndices[key]!.sorted(by: { $0.key < $1.key }) where indices.count < original[axis] {
                sliced = sliced.indexSelect(axis: axis, indices: indices)
            }
            result[key] = sliced
        }
        guard !droppedTensors.isEmpty || !blockRenames.isEmpty else { return result }
        var renumbered: [String: Tensor] = [:]
        for (key, tensor) in result {
            guard let newKey = prunedKey(key) else { continue }
            renumbered[newKey] = tensor
        }
        return renumbered
    }

    /// Plans and applies the surgery in one call; see ``init(groups:selection:shapes:)`` and ``apply(to:)``.
    /// - Throws: ``SurgeryError``.
    public static func prune(
        _ parameters: [String: Tensor], groups: [UnitGroup], selection: UnitSelection
    ) throws(SurgeryError) -> [String: Tensor] {
        try ParameterSurgery(groups: groups, selection: selection, parameters: parameters).apply(to: parameters)
    }

    private func module(touching key: String) -> String {
        groups.first { $0.slices.contains { $0.key == key } || $0.wholeTensors.contains { $0.contains(key) } }?.moduleKey ?? "?"
    }
}

extension Array where Element == Int {
    /// The first index whose element satisfies `predicate`, for an array partitioned by it (binary search).
    fileprivate func partitioningIndex(where predicate: (Int) -> Bool) -> Int {
        var (low, high) = (0, count)
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
