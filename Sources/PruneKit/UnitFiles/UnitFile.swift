import PruneNN
import PruneTensor

/// PruneKit's per-unit files, checked strictly against a model's unit groups: one `[units]` tensor per
/// maskable module, named by its module key.
///
/// - **Masks** (`mask.<module key>`, the format `prunekit forward --masks`/`sample --masks` read and every export's
///   `masks.safetensors` holds): each value 0 (remove) or 1 (keep), in any dtype (float, integer or boolean).
/// - **Scores** (`score.<module key>`, as ``write(scores:groups:to:metadata:)`` writes them; `mask.<module key>`
///   tensors are read as scores too, so soft masks and λ files rank): any float, NaN excepted; higher = more
///   important to keep, as ``UnitScores`` and ``PruningPlan`` take them.
///
/// Modules the file does not name are absent from the result (a selection keeps them whole). Any other tensor,
/// a key that is no maskable module, a shape other than `[units]`, a mask value other than 0 or 1 and a NaN score
/// are refused with a ``UnitFileError`` naming the file and the tensor. Metadata is ignored.
///
/// ```swift
/// let selection = try UnitFile.readMasks("m.safetensors", groups: model.unitGroups)
/// try model.exportPruned(selection: selection, to: "pruned/")
/// ```
public enum UnitFile {
    /// The prefix of score tensors: `score.<module key>`.
    public static let scorePrefix = "score."
    /// The prefix of mask tensors: `mask.<module key>` (``UnitMasks/filePrefix``).
    public static var maskPrefix: String { UnitMasks.filePrefix }

    /// The kept units the binary masks of `path` describe, for the modules it names.
    /// - Throws: ``UnitFileError``.
    public static func readMasks(_ path: String, groups: [UnitGroup]) throws(UnitFileError) -> UnitSelection {
        let values = try read(path, prefixes: [maskPrefix], groups: groups)
        var selection = UnitSelection()
        for (module, entry) in values {  // in model order, so the first bad value named is the first in the model
            if let unit = entry.values.firstIndex(where: { $0 != 0 && $0 != 1 }) {
                throw .notBinary(path: path, tensor: entry.tensor, unit: unit, value: entry.values[unit])
            }
            selection.setKept(entry.values.indices.filter { entry.values[$0] == 1 }, for: module)
        }
        return selection
    }

    /// The scores of `path` (`score.<module key>`, or `mask.<module key>` read as scores) for the modules it names.
    /// - Throws: ``UnitFileError``.
    public static func readScores(_ path: String, groups: [UnitGroup]) throws(UnitFileError) -> UnitScores {
        let values = try read(path, prefixes: [scorePrefix, maskPrefix], groups: groups)
        var scores = UnitScores()
        for (module, entry) in values {
            if let unit = entry.values.firstIndex(where: \.isNaN) { throw .nanScore(path: path, tensor: entry.tensor, unit: unit) }
            scores[module] = entry.values
        }
        return scores
    }

    /// Writes `scores` as float32 `score.<module key>` tensors, in `groups`' order, atomically; modules without
    /// scores are left out. `__metadata__` gets `modules` (`[[key, units, kind], …]`, as an export's
    /// `masks.safetensors`) and `metadata`.
    /// - Throws: `SafetensorsError` when the file cannot be written.
    public static func write(
        scores: UnitScores, groups: [UnitGroup], to path: String, metadata: [String: String] = [:]
    ) throws(SafetensorsError) {
        var tensors: [String: Tensor] = [:]
        for group in groups {
            guard let values = scores[group.moduleKey] else { continue }
            tensors[scorePrefix + group.moduleKey] = Tensor(values, shape: [values.count])
        }
        let modules = groups.map { "[\"\($0.moduleKey)\",\($0.unitCount),\"\($0.kind.rawValue)\"]" }
        try SafetensorsWriter.write(
            tensors, metadata: metadata.merging(["modules": "[" + modules.joined(separator: ",") + "]"]) { $1 }, to: path)
    }

    /// Every tensor of `path`, checked: under one of `prefixes` (one prefix per file), a module of `groups`,
    /// shaped `[units]`. In model order, by module key.
    private static func read(
        _ path: String, prefixes: [String], groups: [UnitGroup]
    ) throws(UnitFileError) -> [(module: String, entry: (tensor: String, values: [Float]))] {
        let file: SafetensorsFile
        do { file = try SafetensorsFile.open(path) } catch { throw .unreadable(path: path, reason: error.description) }
        let byKey = Dictionary(groups.map { ($0.moduleKey, $0) }, uniquingKeysWith: { first, _ in first })
        let expected = prefixes.map { "\($0)<module key>" }.joined(separator: " or ")
        let keys = file.keys.sorted()
        guard keys.contains(where: { key in prefixes.contains { key.hasPrefix($0) } }) else {
            if let bare = keys.first(where: { byKey[$0] != nil }) {  // module keys without the prefix
                throw .unexpectedTensor(path: path, tensor: bare, expected: expected, closest: prefixes[0] + bare)
            }
            throw .noUnits(path: path, expected: expected, found: Array(keys.prefix(5)))
        }
        var usedPrefix: (prefix: String, tensor: String)?
        var result: [String: (tensor: String, values: [Float])] = [:]
        for key in keys {
            guard let prefix = prefixes.first(where: { key.hasPrefix($0) }) else {
                let closest = byKey[key] != nil ? prefixes[0] + key : nearestTensor(to: key, prefix: prefixes[0], groups: groups)
                throw .unexpectedTensor(path: path, tensor: key, expected: expected, closest: closest)
            }
            if let used = usedPrefix, used.prefix != prefix { throw .mixedPrefixes(path: path, first: used.tensor, second: key) }
            usedPrefix = (prefix, key)
            let module = String(key.dropFirst(prefix.count))
            guard let group = byKey[module] else {
                throw .unknownModule(
                    path: path, tensor: key, closest: nearestTensor(to: module, prefix: prefix, groups: groups), moduleCount: groups.count)
            }
            let shape = file.info(key)?.shape ?? []
            guard shape == [group.unitCount] else {
                throw .shape(path: path, tensor: key, expected: [group.unitCount], actual: shape)
            }
            do { result[module] = (key, try file.tensor(key).scalars()) } catch {
                throw .unreadable(path: path, reason: error.description)
            }
        }
        return groups.compactMap { group in result[group.moduleKey].map { (group.moduleKey, $0) } }
    }

    /// `prefix` + the module key nearest to `name`, if one is near.
    private static func nearestTensor(to name: String, prefix: String, groups: [UnitGroup]) -> String? {
        let bare = name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
        return ClosestName.closest(to: bare, in: groups.map(\.moduleKey)).map { prefix + $0 }
    }
}
