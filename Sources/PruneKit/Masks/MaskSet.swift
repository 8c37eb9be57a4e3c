import PruneNN
import PruneTensor

/// The learnable mask logits of a model: one float32 leaf λ `[units]` per maskable module (one value per
/// attention head, FFN neuron or modulation output), and the parametrisation that turns them into
/// ``UnitMasks`` for a forward pass.
///
/// The λ tensors are reference-typed leaves that require a gradient: masks built from them on the tape
/// send gradients back into `λ.gradient`, and an optimizer updates them in place. Copying a `MaskSet`
/// shares the leaves.
///
/// ```swift
/// let masks = MaskSet(groups: unet.unitGroups, parametrization: .hardConcrete(.sdxl))
/// let noise = MaskNoise.draw(using: &generator)
/// let latents = try trajectory.step(z, index: k, masks: masks.masks(noise: noise, step: k))
/// ```
///
/// This implementation matches: EcoDiff `CrossAttentionExtractionHook` / `FeedForwardHooker` /
/// `NormHooker` (`lambs`, `init_lambda`), with λ kept in float32 rather than bfloat16.
public struct MaskSet: @unchecked Sendable {
    /// One maskable module.
    public struct Module: Sendable, Hashable, Codable {
        /// Module key, as the layers look masks up in ``UnitMasks``.
        public var key: String
        public var kind: UnitKind
        public var unitCount: Int

        public init(key: String, kind: UnitKind, unitCount: Int) {
            self.key = key
            self.kind = kind
            self.unitCount = unitCount
        }
    }

    /// EcoDiff's initial logit for SDXL and FLUX.
    public static let defaultInitialValue: Float = 3

    /// The modules, in model order (the order noise is drawn in).
    public let modules: [Module]
    /// λ by module key: float32 leaves `[unitCount]` that require a gradient.
    public let lambdas: [String: Tensor]
    /// How λ becomes a mask while learning.
    public var parametrization: MaskParametrization

    /// Every λ set to `initialValue`.
    public init(modules: [Module], parametrization: MaskParametrization, initialValue: Float = MaskSet.defaultInitialValue) {
        var seen = Set<String>()
        for module in modules {
            precondition(seen.insert(module.key).inserted, "module \(module.key) listed twice")
            precondition(module.unitCount > 0, "module \(module.key) has no units")
        }
        self.modules = modules
        self.parametrization = parametrization
        var lambdas: [String: Tensor] = [:]
        for module in modules {
            lambdas[module.key] = Tensor.full([module.unitCount], value: initialValue, requiresGradient: true)
        }
        self.lambdas = lambdas
    }

    /// One module per unit group, in the groups' order.
    public init(groups: [UnitGroup], parametrization: MaskParametrization, initialValue: Float = MaskSet.defaultInitialValue) {
        self.init(
            modules: groups.map { Module(key: $0.moduleKey, kind: $0.kind, unitCount: $0.unitCount) },
            parametrization: parametrization, initialValue: initialValue)
    }

    /// Total number of units.
    public var unitCount: Int { modules.reduce(0) { $0 + $1.unitCount } }

    /// λ of `module`, `[units]`.
    public subscript(module: String) -> Tensor? { lambdas[module] }

    /// λ of every module of `kind`, in model order.
    public func lambdas(of kind: UnitKind) -> [(key: String, lambda: Tensor)] {
        modules.filter { $0.kind == kind }.map { ($0.key, lambdas[$0.key]!) }
    }

    /// The learning masks for denoising step `step`: ``MaskParametrization/mask(_:uniform:)`` of every λ with
    /// the step's draws from `noise`. Built from tensor ops, so they are on the tape when recording is on
    /// (and plain values inside `withoutGradients`). The same `(noise, step)` always gives the same values.
    ///
    /// - Returns: module key → `[units]`.
    public func masks(noise: MaskNoise, step: Int) -> UnitMasks {
        let draws = parametrization.isStochastic
            ? noise.uniforms(step: step, modules: modules.map { ($0.key, $0.unitCount) }) : [:]
        var masks = UnitMasks()
        for module in modules {
            masks[module.key] = parametrization.mask(lambdas[module.key]!, uniform: draws[module.key])
        }
        return masks
    }

    /// Deterministic constant masks (never on the tape); see ``EvaluationMask``.
    public func evaluationMasks(_ rule: EvaluationMask = .default) -> UnitMasks {
        withoutGradients {
            var masks = UnitMasks()
            for module in modules {
                let lambda = lambdas[module.key]!
                switch rule {
                case .binarized(let threshold):
                    masks[module.key] = Tensor(lambda.scalars().map { $0 > threshold ? 1 : 0 }, shape: lambda.shape)
                case .noiseFreeGate:
                    switch parametrization {
                    case .hardConcrete(let gate): masks[module.key] = gate.noiseFreeGate(lambda)
                    case .sigmoid: masks[module.key] = lambda.sigmoid()
                    }
                }
            }
            return masks
        }
    }

    /// The accumulated gradient of every λ (zeros where none has arrived), module key → `[units]`.
    public var gradients: [String: Tensor] {
        lambdas.mapValues { $0.gradient ?? Tensor.zeros($0.shape) }
    }

    /// Clears every λ's accumulated gradient.
    public func zeroGradients() {
        for lambda in lambdas.values { lambda.zeroGradient() }
    }

    /// Overwrites λ values (resuming from a checkpoint). Every module must be present with its shape.
    /// - Throws: ``MaskSetError`` naming the first missing or mis-shaped module.
    public func assign(_ values: [String: Tensor]) throws(MaskSetError) {
        for module in modules {
            guard let value = values[module.key] else { throw .missing(module: module.key) }
            guard value.shape == [module.unitCount] else {
                throw .shape(module: module.key, expected: [module.unitCount], actual: value.shape)
            }
        }
        for module in modules { lambdas[module.key]!.assign(values[module.key]!.converted(to: .float32)) }
    }
}
