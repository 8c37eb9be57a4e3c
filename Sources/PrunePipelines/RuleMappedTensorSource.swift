import PruneNN
import PruneTensor

/// A ``TensorSource`` that presents the keys under one prefix of another source in new names, following
/// ``KeyRule``s, without loading anything up front.
///
/// Only base keys starting with `prefix` are presented (the prefix removed); keys no rule matches keep
/// their name, so a model built over this source reports them as unexpected. Renames and transposes are
/// views; row splits and squeezes are views made contiguous (16-bit bases are widened per tensor, a
/// fused q/k/v tensor once per part).
///
/// This is the generalisation of `PruneFlux.RemappedTensorSource` (same idea: the recipe table is built
/// from shapes alone) to prefix rules, transposes and 1×1-conv squeezes.
public struct RuleMappedTensorSource: TensorSource {
    /// How one presented tensor is made.
    struct Recipe: Sendable {
        var baseKey: String
        var transform: KeyRule.Transform
        /// For row splits: which rows.
        var rows: Range<Int>?
        var shape: [Int]
    }

    public let base: any TensorSource
    /// A name for error messages (the file and the prefix).
    public let name: String
    private let recipes: [String: Recipe]

    /// - Parameters:
    ///   - base: the source in foreign naming (a whole single-file checkpoint, say).
    ///   - prefix: the component's key prefix in `base` (`model.diffusion_model.`); `""` for all keys.
    ///   - rules: the renaming rules, applied to keys with the prefix removed.
    ///   - name: names the source in errors.
    /// - Throws: ``PipelineError/inconsistent(path:key:reason:)`` when a split or transpose does not fit the
    ///   tensor's shape, or two keys map to one name.
    public init(base: any TensorSource, prefix: String, rules: [KeyRule], name: String) throws(PipelineError) {
        self.base = base
        self.name = name
        var table: [String: KeyRule] = [:]
        for rule in rules { table[rule.source] = rule }
        var recipes: [String: Recipe] = [:]
        for baseKey in base.keys where baseKey.hasPrefix(prefix) {
            guard let shape = base.shape(of: baseKey) else { continue }
            let key = String(baseKey.dropFirst(prefix.count))
            let made: [(String, Recipe)]
            if let (rule, rest) = Self.longestMatch(key, in: table) {
                made = try Self.recipes(for: rule, rest: rest, baseKey: baseKey, shape: shape, name: name)
            } else {
                made = [(key, Recipe(baseKey: baseKey, transform: .rename, rows: nil, shape: shape))]
            }
            for (target, recipe) in made {
                if let other = recipes[target] {
                    throw .inconsistent(path: name, key: baseKey, reason: "maps to \(target), as \(other.baseKey) does")
                }
                recipes[target] = recipe
            }
        }
        self.recipes = recipes
    }

    /// The rule with the longest source that is `key` or a dotted prefix of it, and the rest of the key
    /// (`""` or `.…`).
    static func longestMatch(_ key: String, in table: [String: KeyRule]) -> (KeyRule, String)? {
        var end = key.endIndex
        while true {
            let candidate = String(key[..<end])
            if let rule = table[candidate] { return (rule, String(key[end...])) }
            guard let dot = key[..<end].lastIndex(of: ".") else { return nil }
            end = dot
        }
    }

    static func recipes(
        for rule: KeyRule, rest: String, baseKey: String, shape: [Int], name: String
    ) throws(PipelineError) -> [(String, Recipe)] {
        let targets = rule.targets.map { $0 + rest }
        switch rule.transform {
        case .drop:
            return []
        case .rename:
            return [(targets[0], Recipe(baseKey: baseKey, transform: .rename, rows: nil, shape: shape))]
        case .transpose:
            guard shape.count == 2 else {
                throw .inconsistent(path: name, key: baseKey, reason: "has shape \(shape); expected a matrix to transpose")
            }
            return [(targets[0], Recipe(baseKey: baseKey, transform: .transpose, rows: nil, shape: [shape[1], shape[0]]))]
        case .squeezeToMatrix:
            if shape.count > 2 && shape.dropFirst(2).allSatisfy({ $0 == 1 }) {
                return [(targets[0], Recipe(baseKey: baseKey, transform: .squeezeToMatrix, rows: nil, shape: Array(shape.prefix(2))))]
            }
            return [(targets[0], Recipe(baseKey: baseKey, transform: .rename, rows: nil, shape: shape))]
        case .splitRows:
            let parts = targets.count
            guard let rows = shape.first, rows % parts == 0 else {
                throw .inconsistent(
                    path: name, key: baseKey, reason: "has shape \(shape); expected a first dimension divisible into \(parts) equal parts")
            }
            let size = rows / parts
            return targets.enumerated().map { index, target in
                (target, Recipe(baseKey: baseKey, transform: .splitRows, rows: index * size..<(index + 1) * size, shape: [size] + shape.dropFirst()))
            }
        }
    }

    public var keys: [String] { recipes.keys.sorted() }

    public func shape(of key: String) -> [Int]? { recipes[key]?.shape }

    /// The foreign key a presented key is read from.
    public func baseKey(of key: String) -> String? { recipes[key]?.baseKey }

    public func tensor(_ key: String) throws -> Tensor {
        guard let recipe = recipes[key] else { throw CheckpointError.missingKeys([key], source: name) }
        let tensor = try base.tensor(recipe.baseKey)
        switch recipe.transform {
        case .rename, .drop: return tensor
        case .transpose: return tensor.transposed(0, 1).contiguous()
        case .squeezeToMatrix: return tensor.contiguous().reshaped(recipe.shape)
        case .splitRows: return tensor.sliced(axis: 0, recipe.rows!).contiguous()
        }
    }

    /// ``tensor(_:)`` in the base's stored element type: renames, squeezes and row splits are views of the base's
    /// tensor where it is contiguous; a transpose is a contiguous copy in that type.
    public func storedTensor(_ key: String) throws -> Tensor {
        guard let recipe = recipes[key] else { throw CheckpointError.missingKeys([key], source: name) }
        let stored = try base.storedTensor(recipe.baseKey)
        let contiguous = stored.isContiguous ? stored : stored.converted(to: stored.dtype)
        switch recipe.transform {
        case .rename, .drop: return stored
        case .transpose: return stored.transposed(0, 1).converted(to: stored.dtype)
        case .squeezeToMatrix: return contiguous.reshaped(recipe.shape)
        case .splitRows: return contiguous.sliced(axis: 0, recipe.rows!)
        }
    }
}
