import PruneTensor

/// Global-norm gradient clipping over a set of parameters.
///
/// This implementation matches: `torch.nn.utils.clip_grad_norm_` (L2 norm over all gradients together;
/// scale by `maxNorm / (norm + 1e-6)` when that is below 1).
public enum GradientClipping {
    /// Scales every gradient so that their joint L2 norm is at most `maxNorm`.
    /// - Returns: the norm before clipping.
    @discardableResult
    public static func clip(_ parameters: [(key: String, tensor: Tensor)], maxNorm: Float) -> Float {
        var total: Double = 0
        for (_, parameter) in parameters {
            guard let gradient = parameter.gradient else { continue }
            let values = gradient.contiguous()
            withExtendedLifetime(values) {
                let pointer = values.basePointer
                var sum: Float = 0
                for i in 0..<values.count { sum += pointer[i] * pointer[i] }
                total += Double(sum)
            }
        }
        let norm = Float(total.squareRoot())
        let scale = maxNorm / (norm + 1e-6)
        guard scale < 1 else { return norm }
        withoutGradients {
            for (_, parameter) in parameters {
                guard let gradient = parameter.gradient else { continue }
                parameter.gradient = gradient.contiguous() * scale
            }
        }
        return norm
    }
}
