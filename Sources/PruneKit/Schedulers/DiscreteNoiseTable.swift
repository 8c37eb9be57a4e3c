import Foundation

/// The `beta_*` keys shared by the discrete (DDPM-table) schedulers' configs.
public protocol BetaScheduleConfig: Sendable {
    var numTrainTimesteps: Int { get }
    var betaStart: Double { get }
    var betaEnd: Double { get }
    /// `linear` or `scaled_linear` (`squaredcos_cap_v2` is not supported).
    var betaSchedule: String { get }
    /// Explicit betas overriding the three keys above.
    var trainedBetas: [Double]? { get }
    /// Must be false (zero-terminal-SNR rescaling is not supported).
    var rescaleBetasZeroSnr: Bool { get }
}

/// The DDPM noise table of the discrete schedulers, computed exactly as diffusers/PyTorch do in float32:
/// `betas` (`torch.linspace`, whose CPU kernel evaluates `start + step·i` from the front for the first half
/// and `end − step·(n−1−i)` from the back for the second, each as one fused multiply-add), `ᾱ = cumprod(1 − β)`
/// (PyTorch's CPU cumprod accumulates in float64) and `σ = √((1 − ᾱ)/ᾱ)`.
public struct DiscreteNoiseTable: Sendable, Equatable {
    /// β_t, t = 0 ..< T. Shape: `[T]`.
    public let betas: [Float]
    /// ᾱ_t = ∏_{s≤t} (1 − β_s). Shape: `[T]`.
    public let alphasCumprod: [Float]
    /// σ_t = √((1 − ᾱ_t)/ᾱ_t) in float32 (the VE noise level at training step t). Shape: `[T]`.
    public let sigmas: [Float]

    /// The table for `config`; throws for unsupported beta schedules, naming the key.
    public init(config: some BetaScheduleConfig) throws(SchedulerError) {
        let count = config.numTrainTimesteps
        try ConfigOption.requirePositive(count, key: "num_train_timesteps")
        try ConfigOption.require(config.rescaleBetasZeroSnr, key: "rescale_betas_zero_snr", equals: false)
        let betas: [Float]
        if let trained = config.trainedBetas {
            guard trained.count == count else {
                throw .invalidOption(
                    key: "trained_betas", value: "\(trained.count) values",
                    reason: "needs num_train_timesteps = \(count) values")
            }
            betas = trained.map { Float($0) }
        } else {
            switch config.betaSchedule {
            case "linear":
                betas = Self.torchLinspace(Float(config.betaStart), Float(config.betaEnd), count: count)
            case "scaled_linear":
                let roots = Self.torchLinspace(
                    Float(Foundation.pow(config.betaStart, 0.5)), Float(Foundation.pow(config.betaEnd, 0.5)),
                    count: count)
                betas = roots.map { $0 * $0 }
            default:
                throw .unsupportedOption(
                    key: "beta_schedule", value: "\"\(config.betaSchedule)\"",
                    supported: ["\"linear\"", "\"scaled_linear\""])
            }
        }
        self.betas = betas
        var product = 1.0
        alphasCumprod = betas.map { beta in
            product *= Double(1 - beta)
            return Float(product)
        }
        sigmas = alphasCumprod.map { ((1 - $0) / $0).squareRoot() }
    }

    /// `torch.linspace(start, end, count, dtype=torch.float32)` on the CPU. Shape: `[count]`.
    static func torchLinspace(_ start: Float, _ end: Float, count: Int) -> [Float] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (end - start) / Float(count - 1)
        let halfway = count / 2
        return (0..<count).map { i in
            i < halfway
                ? start.addingProduct(step, Float(i))
                : end.addingProduct(-step, Float(count - 1 - i))
        }
    }
}
