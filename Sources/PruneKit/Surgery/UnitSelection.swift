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

    /// Units removed over all `groups`.
    public func removedUnitCount(in groups: [UnitGroup]) -> Int {
        groups.reduce(0) { $0 + $1.unitCount - keptUnits(of: $1).count }
    }

    /// Parameters removed with the units: for each group, removed units × ``UnitGroup/parametersPerUnit(shapes:)``.
    public func removedParameterCount(in groups: [UnitGroup], shapes: (String) -> [Int]?) -> Int {
        groups.reduce(0) { $0 + ($1.unitCount - keptUnits(of: $1).count) * $1.parametersPerUnit(shapes: shapes) }
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
