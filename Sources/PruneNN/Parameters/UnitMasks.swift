import PruneTensor

/// Per-unit masks keyed by module key (e.g. `down_blocks.1.attentions.0.transformer_blocks.0.attn1`):
/// one value per attention head or FFN neuron, applied inline by the layer that owns the units —
/// head output × m before the output projection, FFN activation × m before the down projection.
public struct UnitMasks: @unchecked Sendable {
    /// Mask vectors by module key.
    public var byModule: [String: Tensor]

    public init(_ byModule: [String: Tensor] = [:]) { self.byModule = byModule }

    /// No masks: the model runs unmasked.
    public static let none = UnitMasks()

    public subscript(module: String) -> Tensor? {
        get { byModule[module] }
        set { byModule[module] = newValue }
    }

    /// The prefix of mask tensors in files: `mask.<module key>`.
    public static let filePrefix = "mask."
}
