import PruneTensor

/// One LoRA adapter on a linear weight `W` `[out, in]`: the layer computes
/// `x·Wᵀ + b + scale · (x·Aᵀ)·Bᵀ` with `A` = ``down`` `[r, in]` and `B` = ``up`` `[out, r]`.
public final class LowRankAdapter: @unchecked Sendable {
    /// `A` `[r, in]`, drawn small (Kaiming-uniform like PEFT) so training starts from `W` exactly.
    public let down: Tensor
    /// `B` `[out, r]`, zeros at the start.
    public let up: Tensor
    /// `alpha / r`.
    public let scale: Float

    public init(down: Tensor, up: Tensor, scale: Float) {
        precondition(down.rank == 2 && up.rank == 2 && down.shape[0] == up.shape[1], "LoRA factors \(down.shape) and \(up.shape) do not chain")
        self.down = down
        self.up = up
        self.scale = scale
    }

    /// A trainable adapter for a weight of shape `[out, in]`: `A` uniform in `±1/√in` from `seed`, `B` zeros.
    public convenience init(weightShape: [Int], rank: Int, alpha: Float, seed: UInt64) {
        let (outFeatures, inFeatures) = (weightShape[0], weightShape[1])
        let bound = 1 / Float(inFeatures).squareRoot()
        let down = Tensor.randomUniform([rank, inFeatures], low: -bound, high: bound, seed: seed, requiresGradient: true)
        let up = Tensor.zeros([outFeatures, rank], requiresGradient: true)
        self.init(down: down, up: up, scale: alpha / Float(rank))
    }

    /// `scale · B·A` `[out, in]`, the update that merging adds to `W`.
    public var delta: Tensor { matmul(up, down) * scale }
}

/// Adapters by the identity of the weight tensor they adapt; every ``Linear`` whose weight has one adds
/// its low-rank term while the set is active (``withActive(_:)``), so any architecture built from
/// ``Linear`` gets LoRA without changes to its forward.
public struct LowRankAdapters: @unchecked Sendable {
    /// Adapters by parameter key.
    public private(set) var byKey: [String: LowRankAdapter] = [:]
    private var byWeight: [ObjectIdentifier: LowRankAdapter] = [:]

    public init() {}

    /// Adapts `weight` (stored under `key`) with `adapter`.
    public mutating func add(_ adapter: LowRankAdapter, key: String, weight: Tensor) {
        byKey[key] = adapter
        byWeight[ObjectIdentifier(weight)] = adapter
    }

    /// The adapter of `weight`, if any.
    public func adapter(for weight: Tensor) -> LowRankAdapter? { byWeight[ObjectIdentifier(weight)] }

    /// Every adapter's trainable factors, named `<key>.lora_A` / `<key>.lora_B`.
    public var trainableParameters: [(key: String, tensor: Tensor)] {
        byKey.keys.sorted().flatMap { key in [(key + ".lora_A", byKey[key]!.down), (key + ".lora_B", byKey[key]!.up)] }
    }

    /// Parameters the adapters add (`r·(in + out)` each).
    public var parameterCount: Int { byKey.values.reduce(0) { $0 + $1.down.count + $1.up.count } }

    /// The adapters in effect for ``Linear`` layers on this thread of execution.
    @TaskLocal public static var active: LowRankAdapters?

    /// Runs `body` with these adapters in effect.
    public func withActive<Result>(_ body: () throws -> Result) rethrows -> Result {
        try Self.$active.withValue(self, operation: body)
    }
}
