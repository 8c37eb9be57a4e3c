import PruneNN
import PruneTensor

// Declarative shapes of the layers a FLUX module is built from. Each block computes its `Shapes` once from
// its widths (the configuration's, or a pruned model's ``UnitWidths``); the block's initialiser builds its
// layers from those shapes and its unit groups read the same shapes, so the two cannot disagree. Parameter
// counts come from the built layers' shapes (a shapes-only ``ParameterStore``), not from a second list.

/// Joins a dotted prefix and a name (`""` + `name` is `name`).
@inlinable
public func checkpointKey(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : "\(prefix).\(name)"
}

/// The shape of one `torch.nn.Linear`: its key relative to the enclosing module and its widths.
public struct LinearShape: Sendable, Equatable {
    /// Key relative to the enclosing module, e.g. `attn.to_q`.
    public var name: String
    public var inFeatures: Int
    public var outFeatures: Int
    public var hasBias: Bool

    public init(_ name: String, inFeatures: Int, outFeatures: Int, hasBias: Bool = true) {
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.hasBias = hasBias
    }
}

/// The shape of an affine normalisation with a weight only (`RMSNorm`): key relative to its module.
public struct NormShape: Sendable, Equatable {
    public var name: String
    public var dimension: Int

    public init(_ name: String, dimension: Int) {
        self.name = name
        self.dimension = dimension
    }
}

/// The shape of a diffusers `FeedForward` with a GELU-tanh projection (FLUX): `net.0.proj` `[inner, dim]`,
/// `net.2` `[dim, inner]`.
public struct FeedForwardShape: Sendable, Equatable {
    public var name: String
    public var dimension: Int
    public var innerDimension: Int

    public init(_ name: String, dimension: Int, innerDimension: Int) {
        self.name = name
        self.dimension = dimension
        self.innerDimension = innerDimension
    }

    public var projectIn: LinearShape { LinearShape("net.0.proj", inFeatures: dimension, outFeatures: innerDimension) }
    public var projectOut: LinearShape { LinearShape("net.2", inFeatures: innerDimension, outFeatures: dimension) }
}

extension Linear {
    /// The Linear described by `shape`, built under `scope.shape.name`.
    public init(_ scope: WeightScope, _ shape: LinearShape) {
        self.init(scope.scoped(shape.name), inFeatures: shape.inFeatures, outFeatures: shape.outFeatures, bias: shape.hasBias)
    }
}

extension RMSNorm {
    /// The RMSNorm described by `shape` (ε as given), built under `scope.shape.name`.
    public init(_ scope: WeightScope, _ shape: NormShape, epsilon: Float) {
        self.init(scope.scoped(shape.name), dimension: shape.dimension, epsilon: epsilon)
    }
}

extension FeedForward {
    /// The GELU-tanh feed-forward described by `shape`, built under `scope.shape.name`.
    public init(_ scope: WeightScope, _ shape: FeedForwardShape) {
        self.init(scope.scoped(shape.name), dimension: shape.dimension, innerDimension: shape.innerDimension, activation: .geluTanh)
    }
}
