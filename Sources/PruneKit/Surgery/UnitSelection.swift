import PruneNN
import PruneTensor

/// Which units of each maskable module survive pruning: the kept unit indices per module key.
///
/// A module the selection does not mention keeps every unit. Indices are stored ascending and without
/// repeats, so the pruned model keeps its units in their original order.
public struct UnitSelection: Sendable, Equatable, Codable {
    /// Kept unit indices by module key, ascending.
    public private(set) var kept: [String: [Int]]

    /// The kept unit indices per module key (sorted and de-duplicated here).
    public init(kept: [String: [Int]] = [:]) {
        self.kept = kept.mapValues { Array(Set($0)).sorted() }
    }

    /// Every unit kept.
    public static let keepingAll = UnitSelection()

    enum CodingKeys: String, CodingKey { case kept }

    /// Decodes `{"kept": {module: [indices]}}`, sorting and de-duplicating the indices.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kept: try container.decode([String: [Int]].self, forKey: .kept))
    }

    /// Binarises `masks`: a unit is kept when its mask value is `> threshold`. Modules without a mask keep
    /// every unit.
    ///
    /// - Parameters:
    ///   - masks: one `[unitCount]` mask per module key.
    ///   - groups: the model's unit groups.
    ///   - threshold: 0.5 by default (EcoDiff's binarisation of a hard-concrete mask).
    /// - Throws: ``SurgeryError/unknownModule(_:)`` for a mask no group describes,
    ///   ``SurgeryError/maskShape(module:expected:actual:)`` for a mask of the wrong shape.
    public init(masks: UnitMasks, groups: [UnitGroup], threshold: Float = 0.5) throws(SurgeryError) {
        let byKey = try Self.groupsByKey(groups)
        var kept: [String: [Int]] = [:]
        for (module, mask) in masks.byModule {
            guard let group = byKey[module] else { throw .unknownModule(module) }
            guard mask.shape == [group.unitCount] else {
                throw .maskShape(module: module, expected: [group.unitCount], actual: mask.shape)
            }
            kept[module] = mask.scalars().enumerated().filter { $0.element > threshold }.map(\.offset)
        }
        self.kept = kept
    }

    /// The kept unit indices of `group` (all of them when the selection does not mention it).
    public func keptUnits(of group: UnitGroup) -> [Int] { kept[group.moduleKey] ?? Array(0..<group.unitCount) }

    /// Sets the kept units of `module` (sorted and de-duplicated).
    public mutating func setKept(_ units: [Int], for module: String) { kept[module] = Array(Set(units)).sorted() }

    /// Throws unless every module named here has a group and every index is one of its units.
    /// - Throws: ``SurgeryError/unknownModule(_:)``, ``SurgeryError/keptIndexOutOfRange(module:index:unitCount:)``,
    ///   ``SurgeryError/duplicateModule(_:)``.
    public func validate(against groups: [UnitGroup]) throws(SurgeryError) {
        let byKey = try Self.groupsByKey(groups)
        for module in kept.keys.sorted() {
            guard let group = byKey[module] else { throw .unknownModule(module) }
            if let bad = kept[module]!.first(where: { $0 < 0 || $0 >= group.unitCount }) {
                throw .keptIndexOutOfRange(module: module, index: bad, unitCount: group.unitCount)
            }
        }
    }

    /// Binary masks (`1` kept, `0` removed), one `[unitCount]` tensor per group.
    public func binaryMasks(for groups: [UnitGroup]) -> UnitMasks {
        var masks = UnitMasks()
        for group in groups {
            var values = [Float](repeating: 0, count: group.unitCount)
            for unit in keptUnits(of: group) where unit >= 0 && unit < group.unitCount { values[unit] = 1 }
            masks[group.moduleKey] = Tensor(values, shape: [group.unitCount])
        }
        return masks
    }

    /// Units removed over all `groups` (the units of heads and neurons inside a removed block count as removed).
    public func removedUnitCount(in groups: [UnitGroup]) -> Int {
        let gone = removedBlockMembers(in: groups)
        return groups.reduce(0) { $0 + (gone.contains($1.moduleKey) ? $1.unitCount : $1.unitCount - keptUnits(of: $1).count) }
    }

    /// Parameters removed with the units, without counting anything twice: removed units × their cost, and for a
    /// removed block everything it owns (the heads and neurons inside it count under the block).
    public func removedParameterCount(in groups: [UnitGroup], shapes: (String) -> [Int]?) -> Int {
        removedParameters(in: groups, shapes: shapes).values.reduce(0, +)
    }

    /// ``removedParameterCount(in:shapes:)`` per module key (0 for a group inside a removed block).
    public func removedParameters(in groups: [UnitGroup], shapes: (String) -> [Int]?) -> [String: Int] {
        let gone = removedBlockMembers(in: groups)
        var result: [String: Int] = [:]
        for group in groups {
            guard !gone.contains(group.moduleKey) else {
                result[group.moduleKey] = 0
                continue
            }
            let costs = group.unitParameterCounts(shapes: shapes)
            let kept = Set(keptUnits(of: group))
            result[group.moduleKey] = (0..<group.unitCount).reduce(0) { kept.contains($1) ? $0 : $0 + costs[$1] }
        }
        return result
    }

    /// The module keys of the head/neuron groups that lie inside a block this selection removes.
    public func removedBlockMembers(in groups: [UnitGroup]) -> Set<String> {
        let lists = groups.filter(\.isBlockList)
        guard !lists.isEmpty else { return [] }
        let keptByList = Dictionary(lists.map { ($0.moduleKey, Set(keptUnits(of: $0))) }, uniquingKeysWith: { a, _ in a })
        var result = Set<String>()
        for (module, block) in groups.enclosingBlocks() where keptByList[block.list]?.contains(block.unit) == false {
            result.insert(module)
        }
        return result
    }

    static func groupsByKey(_ groups: [UnitGroup]) throws(SurgeryError) -> [String: UnitGroup] {
        var byKey: [String: UnitGroup] = [:]
        for group in groups {
            guard byKey[group.moduleKey] == nil else { throw .duplicateModule(group.moduleKey) }
            byKey[group.moduleKey] = group
        }
        return byKey
    }
}
