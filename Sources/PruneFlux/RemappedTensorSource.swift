import PruneNN
import PruneTensor

/// A ``TensorSource`` that presents another source's tensors under new names, following ``FluxKeyRule``s
/// (renames, row splits, half swaps) without loading anything up front.
///
/// Keys no rule matches are passed through unchanged, so a model built over this source reports them as
/// unexpected. Row splits are zero-copy views of the base tensor; half swaps are copies.
public struct RemappedTensorSource: TensorSource {
    /// How one presented tensor is made.
    struct Recipe {
        var baseKey: String
        var rows: Range<Int>?
        var swapHalves: Bool
        var shape: [Int]
    }

    public let base: any TensorSource
    private let recipes: [String: Recipe]

    /// - Parameters:
    ///   - base: the source in foreign naming.
    ///   - rules: the module renaming rules.
    ///   - parameterNames: parameter (last key component) renames applied to matched modules, e.g.
    ///     `["scale": "weight"]`.
    ///   - stripPrefixes: prefixes to remove first. When some key carries one of them, only keys with
    ///     that prefix are presented (the rest belong to other models in an all-in-one file).
    public init(
        base: any TensorSource, rules: [FluxKeyRule], parameterNames: [String: String] = FluxKeyRules.blackForestLabsParameterNames,
        stripPrefixes: [String] = []
    ) {
        self.base = base
        let baseKeys = base.keys
        var names: [(presented: String, baseKey: String)] = baseKeys.map { ($0, $0) }
        if let prefix = stripPrefixes.first(where: { prefix in baseKeys.contains { $0.hasPrefix(prefix) } }) {
            names = baseKeys.filter { $0.hasPrefix(prefix) }.map { (String($0.dropFirst(prefix.count)), $0) }
        }
        var recipes: [String: Recipe] = [:]
        for (name, baseKey) in names {
            guard let shape = base.shape(of: baseKey) else { continue }
            let passThrough = Recipe(baseKey: baseKey, rows: nil, swapHalves: false, shape: shape)
            guard let dot = name.lastIndex(of: ".") else {
                recipes[name] = passThrough
                continue
            }
            let module = String(name[..<dot])
            let parameter = String(name[name.index(after: dot)...])
            guard let (rule, index) = rules.lazy.compactMap({ rule in rule.match(module).map { (rule, $0) } }).first else {
                recipes[name] = passThrough
                continue
            }
            let targetParameter = parameterNames[parameter] ?? parameter
            let targets = rule.targetModules(index: index).map { "\($0).\(targetParameter)" }
            switch rule.transform {
            case .rename:
                recipes[targets[0]] = passThrough
            case .swapHalves:
                guard let rows = shape.first, rows % 2 == 0 else {
                    recipes[name] = passThrough
                    continue
                }
                recipes[targets[0]] = Recipe(baseKey: baseKey, rows: nil, swapHalves: true, shape: shape)
            case .splitRows(let parts):
                let width = base.shape(of: String(baseKey.dropLast(parameter.count)) + "weight").flatMap { $0.count == 2 ? $0[1] : nil }
                guard let rows = shape.first, let width,
                    let sizes = Self.partSizes(parts, rows: rows, inputWidth: width)
                else {
                    recipes[name] = passThrough
                    continue
                }
                var start = 0
                for (target, size) in zip(targets, sizes) {
                    recipes[target] = Recipe(
                        baseKey: baseKey, rows: start..<(start + size), swapHalves: false, shape: [size] + shape.dropFirst())
                    start += size
                }
            }
        }
        self.recipes = recipes
    }

    /// Row counts of the parts, or `nil` when `rows` cannot be divided that way.
    static func partSizes(_ parts: [FluxKeyRule.RowCount], rows: Int, inputWidth: Int) -> [Int]? {
        let fixed = parts.filter { $0 == .inputWidth }.count * inputWidth
        let rest = rows - fixed
        let shares = parts.filter { $0 == .equalShare }.count
        let remainders = parts.filter { $0 == .remainder }.count
        guard rest >= 0, remainders <= 1, shares == 0 || remainders == 0 else { return nil }
        if shares > 0 && rest % shares != 0 { return nil }
        return parts.map { part in
            switch part {
            case .inputWidth: inputWidth
            case .equalShare: rest / shares
            case .remainder: rest
            }
        }
    }

    public var keys: [String] { recipes.keys.sorted() }

    public func shape(of key: String) -> [Int]? { recipes[key]?.shape }

    public func tensor(_ key: String) throws -> Tensor {
        guard let recipe = recipes[key] else { throw CheckpointError.missingKeys([key], source: "renamed checkpoint") }
        let tensor = try base.tensor(recipe.baseKey)
        if let rows = recipe.rows { return tensor.sliced(axis: 0, rows).contiguous() }
        if recipe.swapHalves {
            let halves = tensor.chunked(2, axis: 0)
            return concatenate([halves[1], halves[0]], axis: 0)
        }
        return tensor
    }

    /// ``tensor(_:)`` in the base's stored element type: renames and row splits are zero-copy views of the base's
    /// (16-bit) tensor; a half swap is the `float32` copy ``tensor(_:)`` makes.
    public func storedTensor(_ key: String) throws -> Tensor {
        guard let recipe = recipes[key] else { throw CheckpointError.missingKeys([key], source: "renamed checkpoint") }
        if recipe.swapHalves { return try tensor(key) }
        let stored = try base.storedTensor(recipe.baseKey)
        if let rows = recipe.rows { return stored.sliced(axis: 0, rows) }
        return stored
    }
}
