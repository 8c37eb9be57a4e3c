import Foundation
import PruneNN

/// Turns ``UnitScores`` into a ``UnitSelection``: which units to remove for a target, ranked globally or per
/// module, with a per-module floor and include/exclude patterns over module keys.
///
/// - **Target** (``Target``): the fraction of the *eligible* maskable parameters to remove (default; each
///   unit costs ``UnitGroup/parametersPerUnit(shapes:)``), the fraction of eligible units, or the fraction of
///   *all* the model's parameters (taken from the eligible units; EcoDiff's way of counting). 0 keeps
///   everything; 1 removes every eligible unit (down to ``minimumKeptPerModule``). Eligible = in an
///   included, non-excluded module.
/// - **Per-kind targets** (``targetsByKind``): a kind listed there takes its own fraction instead of ``target``
///   (EcoDiff's separate head and FFN ratios: keep 68 % of heads and 88 % of neurons is
///   `targetsByKind: [.attentionHead: .units(0.32), .feedForwardNeuron: .units(0.12)]`). A per-kind
///   ``Target/parameters(_:)`` or ``Target/units(_:)`` is a fraction of that kind's eligible parameters or units; a
///   per-kind ``Target/modelParameters(_:)`` removes that fraction of the whole model's parameters from that
///   kind's units alone.
/// - **Scope**: ``Scope/global`` ranks all eligible units of one ``UnitKind`` together (each kind gets the
///   same target fraction of its own parameters or units, unless it has its own), ``Scope/perModule`` ranks and
///   budgets each module alone, ``Scope/joint`` ranks heads, neurons and modulation outputs in one pool (the
///   scores decide each kind's share).
/// - **Whole blocks** (``UnitKind/block``) are ranked first; the heads and neurons inside a removed block are then
///   removed with it: they count towards their own kind's target and are not ranked again, and their parameters
///   are counted once, in the block (``PlanResult/eligibleParameters``).
/// - **Order**: units are removed lowest score first. Ties go to the unit that comes later in model order,
///   so the unit with the lower index is kept, as with a stable descending sort.
/// - **Parameter targets**: units are removed in that order while the removed count stays closest to the
///   budget, and the first unit that would overshoot by more than it undershoots stops the pass. So the
///   result lies within half that unit's cost of the target, unless the per-module floor blocks it.
/// - **Unit targets**: remove `N − ⌊N·(1 − fraction)⌋` units, as EcoDiff keeps `int(N·ratio)`.
/// - **Per-module floor**: a module never drops below `min(minimumKeptPerModule, units)` kept units (default
///   0, so whole modules may go); units it would lose are skipped and the next ones in order are taken.
/// - **Patterns**: a module is eligible when it matches an `include` pattern (all when `include` is empty)
///   and no `exclude` pattern. Ineligible modules keep every unit and are left out of the selection.
///
/// This implementation matches: EcoDiff `binarize(scope: global|local, ratio)`: stable top-k per unit kind
/// with ties kept by lower index. EcoDiff's `ratio` is the fraction *kept*; here the target is the fraction
/// *removed*. NaN scores are rejected instead of sorted.
public struct PruningPlan: Sendable, Equatable, Codable {
    /// What fraction to remove.
    public enum Target: Sendable, Equatable, Codable, CustomStringConvertible {
        /// Fraction of the eligible maskable parameters removed.
        case parameters(Double)
        /// Fraction of the eligible units removed.
        case units(Double)
        /// Fraction of all the model's parameters (every tensor in the `shapes` given to
        /// ``PruningPlan/select(scores:groups:shapes:)``) removed from the eligible units, as EcoDiff reports
        /// sparsity (SDXL 2.6 B → 2.1 B at "20 %"). It is ``parameters(_:)`` at
        /// `fraction · all parameters / eligible maskable parameters`, so every pool gives up the same share of
        /// its own parameters; more than the eligible units hold is ``PlanError/targetExceedsMaskable(_:maskable:)``.
        case modelParameters(Double)

        public var fraction: Double {
            switch self {
            case .parameters(let value), .units(let value), .modelParameters(let value): value
            }
        }

        public var description: String {
            switch self {
            case .parameters(let value): "remove \(value) of maskable parameters"
            case .units(let value): "remove \(value) of units"
            case .modelParameters(let value): "remove \(value) of the model's parameters"
            }
        }

        /// The target as a fraction of the eligible maskable parameters or units (of `kind` alone when given).
        /// - Throws: ``PlanError/targetExceedsMaskable(_:maskable:)`` (or ``PlanError/targetExceedsKind(_:kind:maskable:)``)
        ///   when a model fraction exceeds what is maskable.
        func resolved(modelParameters: Int, eligibleParameters: Int, kind: UnitKind? = nil) throws(PlanError) -> Target {
            guard case .modelParameters(let value) = self else { return self }
            if value == 0 { return .parameters(0) }
            let maskableShare = Double(eligibleParameters) / Double(Swift.max(modelParameters, 1))
            let fraction = value / Swift.max(maskableShare, .leastNonzeroMagnitude)
            guard fraction <= 1 + 1e-9 else {
                if let kind { throw .targetExceedsKind(value, kind: kind, maskable: maskableShare) }
                throw .targetExceedsMaskable(value, maskable: maskableShare)
            }
            return .parameters(Swift.min(fraction, 1))
        }
    }

    /// Where units are ranked against each other.
    public enum Scope: String, Sendable, Equatable, Codable, CaseIterable {
        /// One ranking per unit kind across all eligible modules.
        case global
        /// One ranking per module.
        case perModule = "local"
        /// One ranking across the unit kinds (heads, neurons and modulation outputs together; blocks and kinds
        /// with their own target keep their own pools), for scores that mean the same in every kind — EcoDiff's λ,
        /// which EcoDiff's paper thresholds with one τ across kinds — so the scores decide how the budget splits
        /// between kinds instead of every kind giving up the same share.
        case joint
    }

    public var target: Target
    public var scope: Scope
    /// Per-kind targets that replace ``target`` for that kind (EcoDiff uses separate head and FFN ratios).
    public var targetsByKind: [UnitKind: Target]
    public var minimumKeptPerModule: Int
    public var include: [ModulePattern]
    public var exclude: [ModulePattern]

    public init(
        target: Target = .parameters(0.2), scope: Scope = .global, targetsByKind: [UnitKind: Target] = [:],
        minimumKeptPerModule: Int = 0, include: [ModulePattern] = [], exclude: [ModulePattern] = []
    ) {
        self.target = target
        self.scope = scope
        self.targetsByKind = targetsByKind
        self.minimumKeptPerModule = minimumKeptPerModule
        self.include = include
        self.exclude = exclude
    }

    /// ``target`` followed by the per-kind targets, e.g. `remove 0.2 of units; head: remove 0.32 of units`.
    public var targetDescription: String {
        ([target.description] + UnitKind.allCases.compactMap { kind in targetsByKind[kind].map { "\(kind.rawValue): \($0)" } })
            .joined(separator: "; ")
    }

    /// Whether `module` takes part in the ranking.
    /// - Throws: ``PlanError/invalidPattern(_:reason:)``.
    public func isEligible(_ module: String) throws(PlanError) -> Bool {
        var included = include.isEmpty
        for pattern in include where !included { included = try pattern.matches(module) }
        guard included else { return false }
        for pattern in exclude where try pattern.matches(module) { return false }
        return true
    }

    /// Binarises `scores`.
    ///
    /// - Parameters:
    ///   - scores: one score per unit of every eligible group (other modules may be absent).
    ///   - groups: the model's unit groups, in model order.
    ///   - shapes: parameter shapes by key, to cost units.
    /// - Returns: the selection and the per-module table.
    /// - Throws: ``PlanError`` (NaN or missing scores, a target outside `[0, 1]` or beyond the maskable share of
    ///   the model, a bad regex, duplicate modules).
    public func select(scores: UnitScores, groups: [UnitGroup], shapes: [String: [Int]]) throws(PlanError) -> PlanResult {
        for target in [target] + Array(targetsByKind.values) {
            guard target.fraction >= 0, target.fraction <= 1 else { throw .targetOutOfRange(target.fraction) }
        }
        var seen = Set<String>()
        var eligible: [Int] = []
        for (index, group) in groups.enumerated() {
            guard seen.insert(group.moduleKey).inserted else { throw .duplicateModule(group.moduleKey) }
            guard try isEligible(group.moduleKey) else { continue }
            guard let values = scores[group.moduleKey] else { throw .missingScores(module: group.moduleKey) }
            guard values.count == group.unitCount else {
                throw .scoreCount(module: group.moduleKey, expected: group.unitCount, actual: values.count)
            }
            if let unit = values.firstIndex(where: \.isNaN) { throw .nanScore(module: group.moduleKey, unit: unit) }
            eligible.append(index)
        }
        let unitCosts = groups.map { $0.unitParameterCounts(shapes: { shapes[$0] }) }
        let groupCosts = unitCosts.map { $0.reduce(0, +) }
        let modelParameters = shapes.values.reduce(0) { $0 + $1.reduce(1, *) }
        // Heads and neurons inside an eligible block are counted once, in the block.
        let enclosing = groups.enclosingBlocks()
        let eligibleKeys = Set(eligible.map { groups[$0].moduleKey })
        let eligibleParameters = eligible.reduce(0) { total, index in
            if let block = enclosing[groups[index].moduleKey], eligibleKeys.contains(block.list) { return total }
            return total + groupCosts[index]
        }
        /// The kind's own target against its own eligible parameters, or ``target`` against all of them.
        func resolve(_ kind: UnitKind) throws(PlanError) -> Target {
            guard let own = targetsByKind[kind] else {
                return try target.resolved(modelParameters: modelParameters, eligibleParameters: eligibleParameters)
            }
            let kindParameters = eligible.filter { groups[$0].kind == kind }.reduce(0) { $0 + groupCosts[$1] }
            return try own.resolved(modelParameters: modelParameters, eligibleParameters: kindParameters, kind: kind)
        }

        // Pools of group indices ranked together; whole blocks first, so that the other pools see what went with them.
        var pools: [(target: Target, members: [Int])] = []
        let kindOrder = [UnitKind.block] + UnitKind.allCases.filter { $0 != .block }
        switch scope {
        case .global:
            for kind in kindOrder {
                let members = eligible.filter { groups[$0].kind == kind }
                if !members.isEmpty { pools.append((try resolve(kind), members)) }
            }
        case .perModule:
            for kind in kindOrder {
                for member in eligible where groups[member].kind == kind { pools.append((try resolve(kind), [member])) }
            }
        case .joint:
            var shared: [Int] = []
            for kind in kindOrder {
                let members = eligible.filter { groups[$0].kind == kind }
                guard !members.isEmpty else { continue }
                if kind == .block || targetsByKind[kind] != nil {
                    pools.append((try resolve(kind), members))
                } else {
                    shared += members
                }
            }
            if !shared.isEmpty {
                pools.append((try target.resolved(modelParameters: modelParameters, eligibleParameters: eligibleParameters), shared.sorted()))
            }
        }

        var removed = [Int: Set<Int>]()
        let indexByKey = Dictionary(groups.enumerated().map { ($0.element.moduleKey, $0.offset) }, uniquingKeysWith: { a, _ in a })
        /// Whether `group` lies inside a block removed by an earlier pool.
        func goneWithBlock(_ group: Int) -> Bool {
            guard let block = enclosing[groups[group].moduleKey], let list = indexByKey[block.list] else { return false }
            return removed[list]?.contains(block.unit) == true
        }
        for pool in pools {
            // (group, unit) in removal order: lowest score first; ties: later in model order first.
            var candidates: [(group: Int, unit: Int, score: Float, order: Int)] = []
            var removedCount = 0
            var removedParameters = 0
            for member in pool.members {
                if goneWithBlock(member) {
                    // Already removed with its block: counts towards this pool's target, never a candidate.
                    removedCount += groups[member].unitCount
                    removedParameters += groupCosts[member]
                    continue
                }
                let values = scores[groups[member].moduleKey]!
                for unit in values.indices { candidates.append((member, unit, values[unit], candidates.count)) }
            }
            candidates.sort { $0.score != $1.score ? $0.score < $1.score : $0.order > $1.order }
            let fraction = pool.target.fraction
            let unitTotal = pool.members.reduce(0) { $0 + groups[$1].unitCount }
            let unitQuota = unitTotal - Int((Double(unitTotal) * (1 - fraction) + 1e-9).rounded(.down))
            let parameterBudget = fraction * Double(pool.members.reduce(0) { $0 + groupCosts[$1] })
            candidateLoop: for candidate in candidates {
                let group = groups[candidate.group]
                let floor = min(minimumKeptPerModule, group.unitCount)
                let removedHere = removed[candidate.group]?.count ?? 0
                let cost = unitCosts[candidate.group][candidate.unit]
                // A unit the floor protects is skipped; the first unit past the target stops the pass.
                if group.unitCount - removedHere <= floor { continue }
                switch pool.target {
                case .units:
                    if removedCount >= unitQuota { break candidateLoop }
                case .parameters, .modelParameters:
                    if fraction == 0 || 2 * Double(removedParameters) + Double(cost) > 2 * parameterBudget { break candidateLoop }
                }
                removed[candidate.group, default: []].insert(candidate.unit)
                removedCount += 1
                removedParameters += cost
            }
        }

        var selection = UnitSelection()
        var rows: [PlanRow] = []
        let eligibleSet = Set(eligible)
        for (index, group) in groups.enumerated() {
            let gone = removed[index] ?? []
            if eligibleSet.contains(index) {
                selection.setKept((0..<group.unitCount).filter { !gone.contains($0) }, for: group.moduleKey)
            }
            let withBlock = goneWithBlock(index)
            rows.append(
                PlanRow(
                    module: group.moduleKey, kind: group.kind, eligible: eligibleSet.contains(index), units: group.unitCount,
                    kept: withBlock ? 0 : group.unitCount - gone.count, parametersPerUnit: unitCosts[index].first ?? 0,
                    parametersRemoved: withBlock ? 0 : gone.reduce(0) { $0 + unitCosts[index][$1] },
                    parameters: groupCosts[index], insideBlock: enclosing[group.moduleKey] != nil))
        }
        return PlanResult(plan: self, selection: selection, rows: rows)
    }
}
