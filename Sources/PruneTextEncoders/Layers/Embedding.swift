import PruneTensor

/// `torch.nn.Embedding` over a stored-precision table; key `weight` `[count, width]`. A lookup widens only the
/// rows it reads.
struct Embedding {
    let weight: Tensor

    init(_ scope: ParameterScope, count: Int, width: Int) {
        weight = scope.parameter("weight", shape: [count, width])
    }

    init(weight: Tensor) { self.weight = weight }

    /// The rows of `ids` (`[B][L]`, already range-checked) → `[B, L, width]`.
    func callAsFunction(_ ids: [[Int]]) -> Tensor {
        let length = ids.first?.count ?? 0
        return Widening.rows(weight, ids.flatMap { $0 }).reshaped([ids.count, length, weight.shape[1]])
    }

    /// Rows `0..<length` → `[length, width]` (positions).
    func leading(_ length: Int) -> Tensor { Widening.rows(weight, Array(0..<length)) }
}
