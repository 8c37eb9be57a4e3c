import PruneNN
import PruneTensor

/// The parameters of one text encoder, named by transformers checkpoint key where each layer is built and
/// kept in the element type they are stored in (see ``Widening``).
///
/// Read from any ``TensorSource`` through `storedTensor(_:)`: every missing, mis-shaped or unreadable key is
/// collected while the model is built and reported at once by ``finish(ignoring:)``, together with the
/// source's keys no layer asked for, as PruneNN's `ParameterStore` does (the same ``CheckpointError``). With
/// ``init(recordingShapes:)`` nothing is read: parameters are stride-0 placeholders, for listing a model's keys
/// and shapes (e.g. to write a checkpoint) without memory.
public final class StoredParameters: @unchecked Sendable {
    private let source: (any TensorSource)?
    /// Names the source in errors.
    public let sourceName: String
    /// Keys in the order the model asked for them.
    public private(set) var orderedKeys: [String] = []
    /// Parameters by key, in their stored element type.
    public private(set) var parameters: [String: Tensor] = [:]
    /// Source keys used under another name (a tied embedding) or deliberately read twice.
    private var consumed: Set<String> = []
    private var problems: [CheckpointProblem] = []

    /// Parameters are read from `source`; `sourceName` names it in errors (a path, usually).
    public init(source: any TensorSource, sourceName: String) {
        self.source = source
        self.sourceName = sourceName
    }

    /// Parameters only record their keys and shapes; a model built this way must not be run.
    public init(recordingShapes: Void = ()) {
        source = nil
        sourceName = "shapes"
    }

    /// The unprefixed scope.
    public var root: ParameterScope { ParameterScope(parameters: self, prefix: "") }

    /// The shape of every parameter, by key.
    public var shapes: [String: [Int]] { parameters.mapValues(\.shape) }

    /// Total number of parameter elements.
    public var parameterCount: Int { parameters.values.reduce(0) { $0 + $1.count } }

    /// Resident bytes of the parameters in their stored element types.
    public var storedByteCount: Int { parameters.values.reduce(0) { $0 + $1.count * $1.dtype.byteSize } }

    /// Whether the source holds `key` (always `false` when recording shapes).
    func sourceContains(_ key: String) -> Bool { source?.shape(of: key) != nil }

    /// Marks `key` of the source as used, so ``finish(ignoring:)`` does not call it unexpected.
    func markConsumed(_ key: String) { consumed.insert(key) }

    /// Checks the shape of a source key that is read under another name (a tied copy), recording a mismatch.
    /// - Returns: whether the shapes agree (or nothing is read).
    func checkShape(_ key: String, expected: [Int]) -> Bool {
        guard let stored = source?.shape(of: key), stored != expected else { return true }
        problems.append(.shapeMismatch(key: key, expected: expected, actual: stored))
        return false
    }

    /// Throws every problem found while building, plus source keys no layer asked for, except those
    /// `ignoring` accepts (keys transformers itself drops, such as `text_model.embeddings.position_ids`).
    /// - Throws: ``CheckpointError/mismatched(source:problems:)``.
    public func finish(ignoring: (String) -> Bool = { _ in false }) throws(CheckpointError) {
        guard let source else { return }
        var all = problems
        let reported = Set(problems.map(\.problemKey))
        for key in source.keys where parameters[key] == nil && !consumed.contains(key) && !reported.contains(key) {
            guard !ignoring(key) else { continue }
            all.append(.unexpected(key: key, shape: source.shape(of: key) ?? []))
        }
        if !all.isEmpty { throw .mismatched(source: sourceName, problems: all) }
    }

    /// The parameter stored under `sourceKey` of `shape`, registered as `key` (the same key unless a layer reads a
    /// tied weight under another name).
    func parameter(_ key: String, shape: [Int], sourceKey: String? = nil) -> Tensor {
        precondition(parameters[key] == nil, "parameter \(key) built twice")
        let tensor = loaded(sourceKey ?? key, registeredAs: key, shape: shape)
        if let sourceKey, sourceKey != key { consumed.insert(sourceKey) }
        orderedKeys.append(key)
        parameters[key] = tensor
        return tensor
    }

    private func loaded(_ key: String, registeredAs name: String, shape: [Int]) -> Tensor {
        guard let source else { return Self.placeholder(shape) }
        guard let stored = source.shape(of: key) else {
            problems.append(.missing(key: key, expected: shape))
            return Self.placeholder(shape)
        }
        guard stored == shape else {
            problems.append(.shapeMismatch(key: key, expected: shape, actual: stored))
            return Self.placeholder(shape)
        }
        do {
            let tensor = try source.storedTensor(key)
            guard tensor.shape == shape else {
                problems.append(.unreadable(key: key, reason: "the source returned shape \(tensor.shape), not \(shape)"))
                return Self.placeholder(shape)
            }
            // A strided float32 view (e.g. a row split of a fused tensor) is made contiguous once here, so layers
            // can rely on contiguous weights of any element type.
            return tensor.isContiguous ? tensor : tensor.converted(to: .float32)
        } catch {
            problems.append(.unreadable(key: key, reason: "\(error)"))
            return Self.placeholder(shape)
        }
    }

    /// A stride-0 view of one zero, standing in for a parameter that could not be read (the model is never run).
    private static func placeholder(_ shape: [Int]) -> Tensor {
        Tensor(storage: sharedZero, layout: Layout(shape: shape, strides: shape.map { _ in 0 }, offset: 0))
    }

    private static let sharedZero = Storage(zeroedCount: 1)
}

/// A dotted key prefix inside ``StoredParameters``, like PruneNN's `WeightScope`.
public struct ParameterScope {
    let parameters: StoredParameters
    /// The prefix of every key built through this scope (empty at the root).
    public let prefix: String

    /// The scope `prefix.name`.
    public func scoped(_ name: String) -> ParameterScope { ParameterScope(parameters: parameters, prefix: key(name)) }

    /// The scope `prefix.index` (a `ModuleList` entry).
    public func scoped(_ index: Int) -> ParameterScope { scoped(String(index)) }

    /// The full key of `name` in this scope.
    public func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    /// The parameter `prefix.name` of `shape`, in its stored element type.
    public func parameter(_ name: String, shape: [Int]) -> Tensor {
        parameters.parameter(key(name), shape: shape)
    }
}

extension CheckpointProblem {
    /// The checkpoint key the problem is about.
    var problemKey: String {
        switch self {
        case .missing(let key, _), .shapeMismatch(let key, _, _), .unexpected(let key, _), .unreadable(let key, _): key
        }
    }
}
