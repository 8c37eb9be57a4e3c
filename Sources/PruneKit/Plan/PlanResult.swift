import Foundation
import PruneNN

/// One module of a ``PlanResult``.
public struct PlanRow: Sendable, Equatable, Codable {
    public var module: String
    public var kind: UnitKind
    /// Whether the module took part in the ranking (matched the include/exclude patterns).
    public var eligible: Bool
    public var units: Int
    public var kept: Int
    /// Parameters of one unit (unit 0's for a block list, whose blocks may differ once pruned).
    public var parametersPerUnit: Int
    public var parametersRemoved: Int
    /// Parameters all the module's units own.
    public var parameters: Int
    /// Whether the module lies inside a block of a block list (its parameters are the block's too).
    public var insideBlock: Bool

    public init(
        module: String, kind: UnitKind, eligible: Bool, units: Int, kept: Int, parametersPerUnit: Int, parametersRemoved: Int,
        parameters: Int? = nil, insideBlock: Bool = false
    ) {
        self.module = module
        self.kind = kind
        self.eligible = eligible
        self.units = units
        self.kept = kept
        self.parametersPerUnit = parametersPerUnit
        self.parametersRemoved = parametersRemoved
        self.parameters = parameters ?? units * parametersPerUnit
        self.insideBlock = insideBlock
    }
}

/// The outcome of ``PruningPlan/select(scores:groups:shapes:)``: the selection and a per-module table,
/// printable as text (``text``) and encodable as JSON (``json()``).
public struct PlanResult: Sendable, Equatable, Codable {
    public var plan: PruningPlan
    /// Kept units per eligible module (ineligible modules are absent and keep everything).
    public var selection: UnitSelection
    /// One row per unit group, in model order.
    public var rows: [PlanRow]
    /// What chose the units when no criterion and target did (e.g. `masks m.safetensors`); `nil` when
    /// ``plan`` selected them.
    public var source: String? = nil

    /// Maskable parameters of eligible modules (a module inside an eligible block list counted once, in the list).
    public var eligibleParameters: Int {
        let eligibleLists = rows.filter { $0.eligible && $0.kind == .block }.map { $0.module + "." }
        return rows.filter { row in
            row.eligible && !(row.insideBlock && eligibleLists.contains { row.module.hasPrefix($0) })
        }.reduce(0) { $0 + $1.parameters }
    }
    /// Maskable parameters of all modules (a module inside a block list counted once, in the list).
    public var maskableParameters: Int {
        let hasLists = rows.contains { $0.kind == .block }
        return rows.filter { !(hasLists && $0.insideBlock) }.reduce(0) { $0 + $1.parameters }
    }
    public var removedParameters: Int { rows.reduce(0) { $0 + $1.parametersRemoved } }
    public var removedUnits: Int { rows.reduce(0) { $0 + $1.units - $1.kept } }
    /// ``removedParameters`` as a fraction of ``eligibleParameters`` (0 when nothing is eligible).
    public var removedShare: Double { eligibleParameters == 0 ? 0 : Double(removedParameters) / Double(eligibleParameters) }

    /// A fixed-width table: module, kind, units, kept, parameters removed; then totals.
    public var text: String {
        let width = max(6, rows.map(\.module.count).max() ?? 0)
        func pad(_ text: String, _ count: Int, left: Bool = false) -> String {
            let padding = String(repeating: " ", count: max(0, count - text.count))
            return left ? text + padding : padding + text
        }
        var lines = [
            "\(pad("module", width, left: true))  \(pad("kind", 10, left: true)) \(pad("units", 7)) \(pad("kept", 7)) \(pad("params removed", 15))"
        ]
        for row in rows {
            let module = row.eligible ? row.module : "\(row.module) (\(source == nil ? "excluded" : "kept whole"))"
            lines.append(
                "\(pad(module, width, left: true))  \(pad(row.kind.rawValue, 10, left: true)) \(pad(String(row.units), 7)) \(pad(String(row.kept), 7)) \(pad(String(row.parametersRemoved), 15))"
            )
        }
        lines.append(
            "total: \(removedUnits) of \(rows.reduce(0) { $0 + $1.units }) units, \(removedParameters) of \(eligibleParameters) eligible maskable parameters removed (\(String(format: "%.4f", removedShare))); \(source.map { "selected by \($0)" } ?? "target: \(plan.targetDescription)")"
        )
        return lines.joined(separator: "\n")
    }

    /// The result as pretty-printed JSON with sorted keys.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

extension PlanResult {
    /// The table of a selection made without a plan (read from a masks file, say): the modules `selection`
    /// names are the eligible ones, every other module keeps all its units. ``plan`` records the share of the
    /// eligible maskable parameters removed as its target, and ``source`` says where the selection came from.
    public init(selection: UnitSelection, groups: [UnitGroup], shapes: [String: [Int]], source: String) {
        let shapeOf: (String) -> [Int]? = { shapes[$0] }
        let removed = selection.removedParameters(in: groups, shapes: shapeOf)
        let goneWithBlocks = selection.removedBlockMembers(in: groups)
        let enclosing = groups.enclosingBlocks()
        let rows = groups.map { group in
            let costs = group.unitParameterCounts(shapes: shapeOf)
            let kept = goneWithBlocks.contains(group.moduleKey) ? 0 : selection.keptUnits(of: group).count
            return PlanRow(
                module: group.moduleKey, kind: group.kind, eligible: selection.kept[group.moduleKey] != nil, units: group.unitCount,
                kept: kept, parametersPerUnit: costs.first ?? 0, parametersRemoved: removed[group.moduleKey] ?? 0,
                parameters: costs.reduce(0, +), insideBlock: enclosing[group.moduleKey] != nil)
        }
        self.init(plan: PruningPlan(target: .parameters(0)), selection: selection, rows: rows, source: source)
        plan = PruningPlan(target: .parameters(removedShare), scope: .perModule)
    }
}
