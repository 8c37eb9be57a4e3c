import PruneTensor

/// The encoder's posterior: a diagonal Gaussian over the latents.
///
/// This implementation matches: diffusers `DiagonalGaussianDistribution` (`models/autoencoders/vae.py`):
/// the moments `[B, 2C, h, w]` split along channels into mean and log-variance, the log-variance clamped
/// to `[-30, 20]`, `std = exp(logvar / 2)`. Deviation: ``sample(noise:)`` takes the standard-normal draw
/// (torch's generator cannot be reproduced); ``sample(using:)`` draws it from a ``SeededGenerator``.
public struct DiagonalGaussianDistribution {
    /// `[B, C, h, w]`.
    public let mean: Tensor
    /// `[B, C, h, w]`, clamped to `[-30, 20]`.
    public let logVariance: Tensor

    /// Splits `moments` `[B, 2C, h, w]` (the encoder's, after `quant_conv`).
    public init(moments: Tensor) {
        let halves = moments.chunked(2, axis: 1)
        mean = halves[0].contiguous()
        logVariance = halves[1].clamped(to: -30...20)
    }

    /// `exp(logvar / 2)`, `[B, C, h, w]`.
    public var standardDeviation: Tensor { (logVariance * 0.5).exp() }
    /// `exp(logvar)`, `[B, C, h, w]`.
    public var variance: Tensor { logVariance.exp() }

    /// The mode (= the mean), what diffusers' image-to-image pipelines use with `sample_mode="argmax"`.
    public func mode() -> Tensor { mean }

    /// `mean + std · noise`, with `noise` a standard-normal draw of the mean's shape.
    /// - Throws: ``VAEError/invalidInput(argument:expected:actual:)`` when `noise` is not the mean's shape.
    public func sample(noise: Tensor) throws(VAEError) -> Tensor {
        guard noise.shape == mean.shape else { throw .invalidInput(argument: "noise", expected: "\(mean.shape)", actual: noise.shape) }
        return withoutGradients { mean + standardDeviation * noise }
    }

    /// `mean + std · ε`, `ε` drawn from `generator`.
    public func sample(using generator: inout SeededGenerator) -> Tensor {
        withoutGradients { mean + standardDeviation * Tensor.randomNormal(mean.shape, using: &generator) }
    }
}
