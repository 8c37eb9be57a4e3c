import PruneNN

/// Unit widths that do not fit a model or its checkpoint.
public enum UnitWidthsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `key` (`shape`) holds no whole, non-negative number of `module`'s units along `axis`: its extent there
    /// must be `fixed + n·perUnit` for some `n ≥ 0`.
    case notWholeUnits(module: String, key: String, shape: [Int], axis: Int, fixed: Int, perUnit: Int)
    /// Two tensors of `module` give it different unit counts.
    case inconsistent(module: String, key: String, units: Int, otherKey: String, otherUnits: Int)
    /// Explicit widths name a module the model does not have.
    case unknownModule(String)
    /// Explicit widths give `module` a negative unit count.
    case negative(module: String, units: Int)

    public var description: String {
        switch self {
        case .notWholeUnits(let module, let key, let shape, let axis, let fixed, let perUnit):
            let form = fixed == 0 ? "n·\(perUnit)" : "\(fixed) + n·\(perUnit)"
            return "\(key) \(shape): axis \(axis) holds no whole number of \(module)'s units (expected \(form) for a whole n ≥ 0)"
        case .inconsistent(let module, let key, let units, let otherKey, let otherUnits):
            return "\(module): \(key) gives \(units) units, \(otherKey) gives \(otherUnits)"
        case .unknownModule(let module): return "the model has no maskable module \(module)"
        case .negative(let module, let units): return "\(module): \(units) units is negative"
        }
    }
}

/// Where a loaded model's unit widths come from.
public enum UnitWidthsSource: Sendable, Equatable {
    /// The unpruned widths of the configuration.
    case configuration
    /// The widths the checkpoint's tensors have (``UnitWidths/init(inferredFrom:layout:)``); for an unpruned
    /// checkpoint these are the configuration's, for a pruned export the pruned ones.
    case inferredFromWeights
    /// Exactly these widths (modules they do not name keep the configuration's).
    case explicit(UnitWidths)

    /// The widths to build a model over `source` with.
    ///
    /// - Parameters:
    ///   - source: the checkpoint's tensors (read for their shapes only).
    ///   - unprunedLayout: the configuration's unit groups and parameter shapes, built without weights;
    ///     called only when needed.
    /// - Throws: ``UnitWidthsError``, or what `unprunedLayout` throws.
    public func resolved(source: any TensorSource, unprunedLayout: () throws -> ModelLayout) throws -> UnitWidths {
        switch self {
        case .configuration: return .configuration
        case .inferredFromWeights: return try UnitWidths(inferredFrom: source, layout: unprunedLayout())
        case .explicit(let widths):
            let known = Set(try unprunedLayout().groups.map(\.moduleKey))
            for (module, units) in widths.counts.sorted(by: { $0.key < $1.key }) {
                guard known.contains(module) else { throw UnitWidthsError.unknownModule(module) }
                guard units >= 0 else { throw UnitWidthsError.negative(module: module, units: units) }
            }
            return widths
        }
    }
}

extension UnitWidths {
    /// The widths of `layout`'s groups, every module listed.
    public init(layout: ModelLayout) {
        self.init(Dictionary(layout.groups.map { ($0.moduleKey, $0.unitCount) }, uniquingKeysWith: { first, _ in first }))
    }

    /// The widths a (possibly pruned) checkpoint was saved with, solved from its tensor shapes and the
    /// unpruned model's unit groups — for any architecture, from the groups' own ``ParameterSlice``s.
    ///
    /// For every group, each (key, axis) that this group's slices alone lay units along gives one equation:
    /// with the unpruned extent `E`, the group's `U` units and `w` the summed slice widths on that axis, a
    /// checkpoint extent `E'` means `n = (E' − E + U·w) / w` units (`to_q.weight` rows `n·D`; a GEGLU
    /// `net.0.proj.weight`'s `2n` rows; `net.2.weight` columns `n`). Axes other groups share (FLUX
    /// `proj_out` columns) are not used. Every equation of a group must give the same whole `n ≥ 0`.
    ///
    /// A tensor that is absent, or whose rank or other extents differ from the unpruned shape, says nothing
    /// here: the module keeps the configuration's width, so loading reports the tensor as missing or
    /// mis-shaped against it.
    ///
    /// - Throws: ``UnitWidthsError/notWholeUnits(module:key:shape:axis:fixed:perUnit:)`` naming the key
    ///   whose extent fits no whole number of units, ``UnitWidthsError/inconsistent(module:key:units:otherKey:otherUnits:)``
    ///   when two tensors of one module disagree.
    public init(inferredFrom source: any TensorSource, layout: ModelLayout) throws(UnitWidthsError) {
        var owners: [LaidAxis: Set<String>] = [:]
        for group in layout.groups {
            for slice in group.slices { owners[LaidAxis(key: slice.key, axis: slice.axis), default: []].insert(group.moduleKey) }
        }
        var counts: [String: Int] = [:]
        for group in layout.groups {
            var perUnit: [LaidAxis: Int] = [:]
            var order: [LaidAxis] = []
            for slice in group.slices {
                let axis = LaidAxis(key: slice.key, axis: slice.axis)
                guard owners[axis] == [group.moduleKey] else { continue }
                if perUnit[axis] == nil { order.append(axis) }
                perUnit[axis, default: 0] += slice.width
            }
            var solved: (key: String, units: Int)?
            for axis in order {
                guard let width = perUnit[axis], width > 0, let original = layout.shapes[axis.key],
                    let actual = source.shape(of: axis.key), actual.count == original.count, axis.axis < original.count,
                    actual.indices.allSatisfy({ $0 == axis.axis || actual[$0] == original[$0] })
                else { continue }
                let fixed = original[axis.axis] - group.unitCount * width
                let variable = actual[axis.axis] - fixed
                guard variable >= 0, variable % width == 0 else {
                    throw .notWholeUnits(
                        module: group.moduleKey, key: axis.key, shape: actual, axis: axis.axis, fixed: fixed, perUnit: width)
                }
                let units = variable / width
                guard let first = solved else {
                    solved = (axis.key, units)
                    continue
                }
                guard first.units == units else {
                    throw .inconsistent(module: group.moduleKey, key: first.key, units: first.units, otherKey: axis.key, otherUnits: units)
                }
            }
            if let solved, solved.units != group.unitCount { counts[group.moduleKey] = solved.units }
        }
        self.init(counts)
    }
}

/// One axis of one checkpoint tensor.
private struct LaidAxis: Hashable {
    var key: String
    var axis: Int
}
