/// EcoDiff's binarisation of learned λ (`binarize(scope, ratio)` of the hookers in the official code,
/// `YaNgZhAnG-V5/EcoDiff`, branch `inference_only`, `cross_attn_hook.py` and `ffn_hooker.py`).
///
/// For one kind of unit (attention heads, or FFN neurons) with λ vectors in module execution order:
/// - `global`: the vectors are concatenated; the `k = int(n · ratio)` largest values are kept, `n` being the
///   total unit count. Ranking is a stable descending sort, so equal values keep their order: the earlier
///   unit wins a tie at the cut-off.
/// - `local`: the same, per module (`k = int(n_module · ratio)`).
///
/// The release then sets `mask = where(λ > λ_(k), 1, topk)`, with `λ_(k)` the k-th largest value; every unit
/// above the k-th value is in the top k already, so the result is exactly the top-k mask, which is what is
/// computed here. `int()` truncates the double-precision product, as Python does.
///
/// Deviations: `k = 0` — the release indexes `sorted[k − 1]`, i.e. the *smallest* λ, and keeps every unit
/// above it; here `k = 0` keeps no unit, as the ratio says. Non-finite λ (NaN) are refused by
/// ``EcoDiffImport`` before ranking (the release would sort NaN first and keep it).
public enum EcoDiffBinarization {
    /// Global ranking over all modules of a kind, or per module.
    public enum Scope: String, Sendable, CaseIterable, Codable {
        case global, local
    }

    /// The number of units kept out of `count` at `ratio`: `int(count · ratio)` in IEEE double arithmetic.
    public static func keptCount(of count: Int, ratio: Double) -> Int {
        Int((Double(count) * ratio).rounded(.towardZero))
    }

    /// Keep flags for `lambdas` (one vector per module, in execution order), kept fraction `ratio` ∈ [0, 1].
    /// - Returns: one `[Bool]` per module, `true` for a kept unit.
    public static func keep(_ lambdas: [[Float]], scope: Scope, ratio: Double) -> [[Bool]] {
        switch scope {
        case .local:
            return lambdas.map { topK($0, count: keptCount(of: $0.count, ratio: ratio)) }
        case .global:
            let flat = lambdas.flatMap { $0 }
            let kept = topK(flat, count: keptCount(of: flat.count, ratio: ratio))
            var result: [[Bool]] = []
            var start = 0
            for vector in lambdas {
                result.append(Array(kept[start..<start + vector.count]))
                start += vector.count
            }
            return result
        }
    }

    /// The `count` largest values of `values` by a stable descending sort (ties: lower index first).
    static func topK(_ values: [Float], count: Int) -> [Bool] {
        var flags = [Bool](repeating: false, count: values.count)
        let order = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        for index in order.prefix(max(0, min(count, values.count))) { flags[index] = true }
        return flags
    }
}
