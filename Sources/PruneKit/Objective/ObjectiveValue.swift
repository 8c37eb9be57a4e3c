/// The value of EcoDiff's objective for one trajectory: `total = reconstruction + β·penalty`.
public struct ObjectiveValue: Sendable, Equatable, CustomStringConvertible {
    /// `mean((ẑ₀ − z₀)²)` over every latent element.
    public var reconstruction: Float
    /// The unweighted sparsity term R(λ).
    public var penalty: Float
    /// `reconstruction + Σ_kinds β_kind·R_kind` (`reconstruction + β·penalty` when every kind has the same β).
    public var total: Float

    public init(reconstruction: Float, penalty: Float, total: Float) {
        self.reconstruction = reconstruction
        self.penalty = penalty
        self.total = total
    }

    public var description: String { "loss \(total) (reconstruction \(reconstruction), penalty \(penalty))" }
}
