import PruneTensor

/// How a parameter is initialised when a model is built without a checkpoint.
public enum Initialization: Sendable {
    case zeros
    case ones
    /// Uniform in `±1/sqrt(fanIn)`, PyTorch's default for Linear and Conv2d weights and biases.
    case fanInUniform(fanIn: Int)
    case normal(standardDeviation: Float)
}

/// The parameters of one model, named by checkpoint key where each layer is built.
///
/// Built from a ``TensorSource`` (every problem — missing, mis-shaped, unexpected keys — is collected
/// and reported at once by ``finish()``) or randomly from a seed (each key gets its own stream, so the
/// values do not depend on build order).
///
/// ```swift
/// let store = ParameterStore(source: checkpoint, sourceName: "unet/")
/// let model = UNet2DConditionModel(configuration, weights: store.root)
/// try store.finish()
/// ```
public final class ParameterStore: @unchecked Sendable {
    private enum Origin {
        case checkpoint(any TensorSource, name: String)
        case random(seed: UInt64)
        case shapesOnly
    }

    private let origin: Origin
    /// Parameters in the order the model asked for them.
    public private(set) var orderedKeys: [String] = []
    /// Parameters by checkpoint key.
    public private(set) var parameters: [String: Tensor] = [:]
    private var problems: [CheckpointProblem] = []

    /// Parameters are read from `source`; `sourceName` names it in errors (a path, usually).
    public init(source: any TensorSource, sourceName: String) {
        origin = .checkpoint(source, name: sourceName)
    }

    /// Parameters are drawn from their ``Initialization`` with a per-key stream derived from `seed`.
    public init(randomSeed seed: UInt64) {
        origin = .random(seed: seed)
    }

    /// Parameters only record their shapes: each is a stride-0 view of one shared element, so a model of
    /// any size can be built to count its parameters and units. Such a model must not be run.
    public init(shapesOnly: Void = ()) {
        origin = .shapesOnly
    }

    /// The unprefixed scope.
    public var root: WeightScope { WeightScope(store: self, prefix: "") }

    /// Total number of parameter elements.
    public var parameterCount: Int { parameters.values.reduce(0) { $0 + $1.count } }

    /// Bytes the parameters take in their element types (16-bit weights count 2 bytes per element).
    public var storedByteCount: Int { parameters.values.reduce(0) { $0 + $1.count * $1.dtype.byteSize } }

    /// Throws every problem found while building, plus checkpoint keys no layer asked for.
    /// - Throws: ``CheckpointError/mismatched(source:problems:)``.
    public func finish() throws(CheckpointError) {
        guard case .checkpoint(let source, let name) = origin else { return }
        var all = problems
        for key in source.keys where parameters[key] == nil && !problems.contains(where: { $0.key == key }) {
            all.append(.unexpected(key: key, shape: source.shape(of: key) ?? []))
        }
        if !all.isEmpty { throw .mismatched(source: name, problems: all) }
    }

    /// Sets whether every parameter requires a gradient (e.g. `false` to freeze a model whose masks learn).
    public func setRequiresGradient(_ value: Bool) {
        for tensor in parameters.values { tensor.requiresGradient = value }
    }

    fileprivate func parameter(
        _ key: String, shape: [Int], initialization: Initialization, keepsStoredType: Bool
    ) -> Tensor {
        precondition(parameters[key] == nil, "parameter \(key) built twice")
        let tensor: Tensor
        switch origin {
        case .checkpoint(let source, _):
            tensor = loaded(key, shape: shape, from: source, keepsStoredType: keepsStoredType)
        case .random(let seed):
            tensor = Self.initialized(shape, initialization, seed: seed ^ Self.stableHash(key))
        case .shapesOnly:
            tensor = Tensor(
                storage: Self.sharedElement, layout: Layout(shape: shape, strides: shape.map { _ in 0 }, offset: 0))
        }
        orderedKeys.append(key)
        parameters[key] = tensor
        return tensor
    }

    private func loaded(_ key: String, shape: [Int], from source: any TensorSource, keepsStoredType: Bool) -> Tensor {
        guard let stored = source.shape(of: key) else {
            problems.append(.missing(key: key, expected: shape))
            return Tensor.zeros(shape)
        }
        guard stored == shape else {
            problems.append(.shapeMismatch(key: key, expected: shape, actual: stored))
            return Tensor.zeros(shape)
        }
        do {
            guard keepsStoredType else { return try source.tensor(key) }
            let tensor = try source.storedTensor(key)
            guard tensor.shape == shape else {
                problems.append(.unreadable(key: key, reason: "the source returned shape \(tensor.shape), not \(shape)"))
                return Tensor.zeros(shape)
            }
            // A strided 16-bit view (a transposed or split tensor) is made contiguous once, in its own type, so the
            // ops widen it panel by panel; float32 views stay views.
            return tensor.dtype == .float32 || tensor.isContiguous ? tensor : tensor.converted(to: tensor.dtype)
        } catch {
            problems.append(.unreadable(key: key, reason: "\(error)"))
            return Tensor.zeros(shape)
        }
    }

    private static func initialized(_ shape: [Int], _ initialization: Initialization, seed: UInt64) -> Tensor {
        switch initialization {
        case .zeros: return Tensor.zeros(shape)
        case .ones: return Tensor.ones(shape)
        case .fanInUniform(let fanIn):
            let bound = 1 / Float(max(fanIn, 1)).squareRoot()
            return Tensor.randomUniform(shape, low: -bound, high: bound, seed: seed)
        case .normal(let standardDeviation):
            return Tensor.randomNormal(shape, standardDeviation: standardDeviation, seed: seed)
        }
    }

    private static let sharedElement = Storage(zeroedCount: 1)

    /// FNV-1a of the key's UTF-8 bytes: stable across runs and platforms.
    static func stableHash(_ key: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

extension CheckpointProblem {
    var key: String {
        switch self {
        case .missing(let key, _), .shapeMismatch(let key, _, _), .unexpected(let key, _), .unreadable(let key, _): key
        }
    }
}

/// A key prefix inside a ``ParameterStore``, like candle's `VarBuilder.pp`.
public struct WeightScope {
    let store: ParameterStore
    /// The dotted prefix of every key built through this scope (empty at the root).
    public let prefix: String

    /// The scope `prefix.name`.
    public func scoped(_ name: String) -> WeightScope {
        WeightScope(store: store, prefix: key(name))
    }

    /// The scope `prefix.index` (for `ModuleList` entries).
    public func scoped(_ index: Int) -> WeightScope { scoped(String(index)) }

    /// The full checkpoint key of `name` in this scope.
    public func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    /// The parameter `prefix.name` of `shape`, in `float32`.
    ///
    /// With `keepsStoredType`, a checkpoint's `float16`/`bfloat16` tensor stays in that type (a zero-copy view of
    /// the mapped file, see ``TensorSource/storedTensor(_:)``) and the ops that read it widen it per call: only
    /// for weights consumed by `linear`/`conv2d` (``Linear``, ``Conv2d``), which never need their own gradient
    /// unless ``Tensor/widenInPlace()`` made them `float32` first.
    public func parameter(
        _ name: String, shape: [Int], initialization: Initialization, keepsStoredType: Bool = false
    ) -> Tensor {
        store.parameter(key(name), shape: shape, initialization: initialization, keepsStoredType: keepsStoredType)
    }
}
