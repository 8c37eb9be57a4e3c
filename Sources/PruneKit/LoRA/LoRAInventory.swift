import PruneTensor

/// The keys of a LoRA file grouped by module, each module resolved against a model.
///
/// ```swift
/// let inventory = try LoRAInventory(file: try SafetensorsFile.open("style.safetensors"), resolver: resolver)
/// for module in inventory.modules { print(module.name, module.target ?? "copied") }
/// ```
public struct LoRAInventory: Sendable {
    /// One module of the file: its keys by role.
    public struct Module: Sendable {
        /// The module name as written (suffix removed).
        public var name: String
        /// The denoiser modules it adapts; `nil` for another component's module (a text encoder).
        public var target: LoRATarget?
        /// The key of each role (``LoRARole/otherAlgorithm(_:)`` roles are listed in ``otherKeys``).
        public var keys: [LoRARole: String]
        /// Keys of other adapter algorithms (LoHa, LoKr, …), with the algorithm's name.
        public var otherKeys: [(key: String, algorithm: String)]

        /// Every key of the module.
        public var allKeys: [String] { keys.values.sorted() + otherKeys.map(\.key) }
    }

    /// The file's path, for errors.
    public let path: String
    /// Modules by name, sorted.
    public let modules: [Module]

    /// Groups and resolves every key of `file`.
    ///
    /// - Throws: ``LoRAError/empty(path:)``, ``LoRAError/unrecognizedKey(path:key:)``,
    ///   ``LoRAError/unknownModule(path:key:module:suggestions:)``, ``LoRAError/ambiguousModule(path:key:module:candidates:)``,
    ///   ``LoRAError/duplicateRole(path:key:other:)`` — for the first offending key in sorted order.
    public init(file: SafetensorsFile, resolver: any LoRAModuleResolver) throws(LoRAError) {
        path = file.path
        guard !file.keys.isEmpty else { throw .empty(path: file.path) }
        var byName: [String: Module] = [:]
        for key in file.keys {
            guard let parsed = LoRAKey.parse(key) else { throw .unrecognizedKey(path: path, key: key) }
            if byName[parsed.module] == nil {
                let target: LoRATarget?
                switch resolver.resolve(parsed.module) {
                case .denoiser(let found): target = found
                case .otherComponent: target = nil
                case .ambiguous(let candidates):
                    throw .ambiguousModule(path: path, key: key, module: parsed.module, candidates: candidates)
                case .unknown:
                    throw .unknownModule(path: path, key: key, module: parsed.module, suggestions: resolver.suggestions(for: parsed.module))
                }
                byName[parsed.module] = Module(name: parsed.module, target: target, keys: [:], otherKeys: [])
            }
            if case .otherAlgorithm(let algorithm) = parsed.role {
                byName[parsed.module]!.otherKeys.append((key, algorithm))
            } else if let other = byName[parsed.module]!.keys[parsed.role] {
                throw .duplicateRole(path: path, key: key, other: other)
            } else {
                byName[parsed.module]!.keys[parsed.role] = key
            }
        }
        modules = byName.keys.sorted().map { byName[$0]! }
    }
}

/// The geometry of one LoRA module checked against the weights it adapts.
public struct LoRAModuleGeometry: Sendable, Equatable {
    /// Rows of each part's weight, in stacking order.
    public var partRows: [Int]
    /// The weight's extents after the output axis (`[in]`, or `[in, kh, kw]`).
    public var inputShape: [Int]
    /// The rank `r`, when the module has `B·A` factors.
    public var rank: Int?
    /// Whether the DoRA magnitude (if any) has one value per output row (`false`: one per input column).
    public var magnitudePerOutput: Bool

    /// Rows of the stacked weight.
    public var outputs: Int { partRows.reduce(0, +) }
    /// The stacked weight's shape.
    public var weightShape: [Int] { [outputs] + inputShape }

    /// Checks every tensor of `module` against the weights in `shapes` (`<part>.weight` for each part).
    ///
    /// - Throws: ``LoRAError/shapeMismatch(path:key:expected:actual:)`` naming the first tensor that does not
    ///   fit and the shape it should have; ``LoRAError/incompleteModule(path:key:missing:)`` for `A` without `B`
    ///   or the reverse; ``LoRAError/unknownModule(path:key:module:suggestions:)`` when a part has no weight.
    public init(module: LoRAInventory.Module, target: LoRATarget, file: SafetensorsFile, shapes: (String) -> [Int]?) throws(LoRAError) {
        let path = file.path
        let anyKey = module.allKeys.first ?? module.name
        var partRows: [Int] = []
        var inputShape: [Int]?
        for part in target.parts {
            guard let shape = shapes(part + ".weight"), shape.count >= 2 else {
                throw .unknownModule(path: path, key: anyKey, module: part, suggestions: [])
            }
            if let inputShape, Array(shape.dropFirst()) != inputShape {
                throw .unsupportedSlice(path: path, key: anyKey, reason: "the parts of \(target) take different inputs")
            }
            inputShape = Array(shape.dropFirst())
            partRows.append(shape[0])
        }
        self.partRows = partRows
        self.inputShape = inputShape!
        magnitudePerOutput = true

        func shape(_ role: LoRARole) -> (key: String, shape: [Int])? {
            module.keys[role].map { ($0, file.info($0)!.shape) }
        }
        let outputs = partRows.reduce(0, +)
        let inputs = self.inputShape[0]
        let down = shape(.down)
        let up = shape(.up)
        if let down, up == nil { throw .incompleteModule(path: path, key: down.key, missing: "up (B) tensor") }
        if let up, down == nil { throw .incompleteModule(path: path, key: up.key, missing: "down (A) tensor") }
        if let down, let up {
            guard down.shape.count == self.inputShape.count + 1, down.shape[1] == inputs else {
                throw .shapeMismatch(path: path, key: down.key, expected: Self.describe([down.shape.first.map(String.init) ?? "r"] + self.inputShape.map(String.init)), actual: down.shape)
            }
            let rank = down.shape[0]
            guard up.shape.count == down.shape.count, up.shape[0] == outputs, up.shape[1] == rank else {
                throw .shapeMismatch(
                    path: path, key: up.key, expected: Self.describe(["\(outputs)", "\(rank)"] + Array(repeating: "1", count: max(0, down.shape.count - 2))),
                    actual: up.shape)
            }
            self.rank = rank
        }
        for role in [LoRARole.upBias, .diffBias] {
            if let entry = shape(role), entry.shape != [outputs] {
                throw .shapeMismatch(path: path, key: entry.key, expected: Self.describe(["\(outputs)"]), actual: entry.shape)
            }
        }
        if let diff = shape(.diff), diff.shape != weightShape {
            throw .shapeMismatch(path: path, key: diff.key, expected: Self.describe(weightShape.map(String.init)), actual: diff.shape)
        }
        if let alpha = shape(.alpha), alpha.shape.reduce(1, *) != 1 {
            throw .shapeMismatch(path: path, key: alpha.key, expected: "[] (one value)", actual: alpha.shape)
        }
        if let magnitude = shape(.magnitude) {
            let count = magnitude.shape.reduce(1, *)
            if magnitude.shape.first == outputs, count == outputs {
                magnitudePerOutput = true
            } else if magnitude.shape.count >= 2, magnitude.shape[0] == 1, magnitude.shape[1] == inputs, count == inputs {
                magnitudePerOutput = false
            } else {
                throw .shapeMismatch(
                    path: path, key: magnitude.key, expected: "\(Self.describe(["\(outputs)"])) or \(Self.describe(["\(outputs)", "1"])) or \(Self.describe(["1", "\(inputs)"]))",
                    actual: magnitude.shape)
            }
        }
    }

    static func describe(_ extents: [String]) -> String { "[" + extents.joined(separator: ", ") + "]" }
}
