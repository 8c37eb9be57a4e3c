import PruneNN

/// What a selection leaves of a model, counted from its ``ModelLayout`` alone (no weights): the pruned model's
/// parameters, and per unit kind the units and maskable parameters before and after.
///
/// The pruned parameter count is the model's total less, for every group, removed units × their cost, and for a
/// removed block everything it owns (``UnitSelection/removedParameters(in:shapes:)``) — exactly what
/// ``ParameterSurgery`` slices away and drops, so it equals the `parameter_count` of the export the same selection
/// writes. Heads and neurons inside a removed block count as removed units whose parameters are the block's.
///
/// Encoded as JSON with the fields of ``ModelAccounting`` for the pruned model (`parameters`, `heads`,
/// `ffn_neurons`) plus `original` (the same three for the unpruned model), `removed_parameters`,
/// `removed_share` (of all parameters), `maskable_parameters` and `units` (per kind: `original`, `kept`,
/// `parameters`, `removed_parameters`).
public struct PrunedAccounting: Sendable, Equatable, Codable {
    /// One unit kind's totals.
    public struct KindTotals: Sendable, Equatable, Codable {
        /// Units before pruning.
        public var original: Int
        /// Units kept.
        public var kept: Int
        /// Maskable parameters the kind's units own before pruning.
        public var parameters: Int
        /// Maskable parameters removed with the kind's units.
        public var removedParameters: Int

        enum CodingKeys: String, CodingKey {
            case original, kept, parameters
            case removedParameters = "removed_parameters"
        }
    }

    /// The unpruned model.
    public var original: ModelAccounting
    /// The pruned model's parameters.
    public var parameters: Int
    /// Attention heads kept.
    public var heads: Int
    /// FFN neurons kept.
    public var ffnNeurons: Int
    /// `original.parameters − parameters`.
    public var removedParameters: Int
    /// `removedParameters / original.parameters` (0 for a model without parameters).
    public var removedShare: Double
    /// Parameters owned by maskable units, before pruning (a block's heads and neurons counted once, in the block).
    public var maskableParameters: Int
    /// Totals per ``UnitKind`` raw value (`head`, `neuron`, …), for the kinds the model has.
    public var units: [String: KindTotals]

    /// Counts `layout` pruned to `selection` (modules the selection does not name keep every unit).
    /// - Throws: ``SurgeryError`` when the selection names a module the layout lacks or a unit index out of range.
    public init(layout: ModelLayout, selection: UnitSelection) throws(SurgeryError) {
        try selection.validate(against: layout.groups)
        let shapes: (String) -> [Int]? = { layout.shapes[$0] }
        let removedByModule = selection.removedParameters(in: layout.groups, shapes: shapes)
        let goneWithBlocks = selection.removedBlockMembers(in: layout.groups)
        let enclosed = layout.groups.enclosingBlocks()
        var units: [String: KindTotals] = [:]
        var maskable = 0
        for group in layout.groups {
            let parameters = group.unitParameterCounts(shapes: shapes).reduce(0, +)
            let kept = goneWithBlocks.contains(group.moduleKey) ? 0 : selection.keptUnits(of: group).count
            var totals = units[group.kind.rawValue] ?? KindTotals(original: 0, kept: 0, parameters: 0, removedParameters: 0)
            totals.original += group.unitCount
            totals.kept += kept
            totals.parameters += parameters
            totals.removedParameters += removedByModule[group.moduleKey] ?? 0
            units[group.kind.rawValue] = totals
            if enclosed[group.moduleKey] == nil { maskable += parameters }
        }
        let total = layout.parameterCount
        let removed = units.values.reduce(0) { $0 + $1.removedParameters }
        original = ModelAccounting(
            parameters: total, heads: units[UnitKind.attentionHead.rawValue]?.original ?? 0,
            ffnNeurons: units[UnitKind.feedForwardNeuron.rawValue]?.original ?? 0)
        parameters = total - removed
        heads = units[UnitKind.attentionHead.rawValue]?.kept ?? 0
        ffnNeurons = units[UnitKind.feedForwardNeuron.rawValue]?.kept ?? 0
        removedParameters = removed
        removedShare = total == 0 ? 0 : Double(removed) / Double(total)
        maskableParameters = maskable
        self.units = units
    }

    enum CodingKeys: String, CodingKey {
        case original, parameters, heads, units
        case ffnNeurons = "ffn_neurons"
        case removedParameters = "removed_parameters"
        case removedShare = "removed_share"
        case maskableParameters = "maskable_parameters"
    }
}
