import Foundation
import PruneTensor

/// Adam with decoupled weight decay, updating parameters in place from their accumulated ``Tensor/gradient``.
///
/// For every parameter p with gradient g, at optimizer step t (counted from 1):
///
/// ```
/// p ← p − lr·wd·p                                     (decoupled decay, before the Adam update)
/// m ← β₁·m + (1 − β₁)·g ;  v ← β₂·v + (1 − β₂)·g²
/// p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// Parameters without a gradient are skipped (no decay, no moment update), as PyTorch skips `grad is None`.
/// The bias corrections use the optimizer's ``stepCount``, which equals PyTorch's per-parameter `step`
/// whenever every parameter gets a gradient at every step (always so for mask logits, which the
/// sparsity penalty touches).
///
/// The state (moments and step count) round-trips through ``state`` / ``load(_:)`` so a run can be
/// checkpointed to safetensors and resumed.
///
/// This implementation matches: PyTorch `torch.optim.AdamW` (single-tensor path, `amsgrad=False`,
/// `maximize=False`); Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2019).
public struct AdamW: @unchecked Sendable {
    /// The parameter groups, each with its own learning rate and weight decay.
    public var groups: [ParameterGroup]
    /// β₁, β₂.
    public let betas: (Float, Float)
    /// ε added to the denominator.
    public let epsilon: Float
    /// Optimizer steps taken.
    public internal(set) var stepCount: Int = 0
    /// First and second moments by parameter key, `[shape of the parameter]` each.
    var firstMoments: [String: Tensor] = [:]
    var secondMoments: [String: Tensor] = [:]

    /// - Precondition: parameter keys are unique across `groups`; parameters are contiguous float32.
    public init(groups: [ParameterGroup], betas: (Float, Float) = (0.9, 0.999), epsilon: Float = 1e-8) {
        var seen = Set<String>()
        for group in groups {
            for parameter in group.parameters {
                precondition(seen.insert(parameter.key).inserted, "parameter \(parameter.key) is in two groups")
                precondition(
                    parameter.tensor.isContiguous && parameter.tensor.dtype == .float32,
                    "AdamW updates contiguous float32 parameters in place; \(parameter.key) is not")
            }
        }
        precondition((0..<1).contains(betas.0) && (0..<1).contains(betas.1), "betas must lie in [0, 1)")
        self.groups = groups
        self.betas = betas
        self.epsilon = epsilon
    }

    /// Every parameter key, group by group.
    public var parameterKeys: [String] { groups.flatMap { $0.parameters.map(\.key) } }

    /// One update of every parameter that has a gradient.
    public mutating func step() {
        stepCount += 1
        let (beta1, beta2) = betas
        let biasCorrection1 = 1 - Foundation.pow(Double(beta1), Double(stepCount))
        let biasCorrection2 = 1 - Foundation.pow(Double(beta2), Double(stepCount))
        let correction2Root = Float(biasCorrection2.squareRoot())
        for group in groups {
            let stepSize = Float(Double(group.learningRate) / biasCorrection1)
            let decay = Float(1 - Double(group.learningRate) * Double(group.weightDecay))
            for (key, parameter) in group.parameters {
                guard let gradient = parameter.gradient else { continue }
                precondition(gradient.shape == parameter.shape, "gradient of \(key) has shape \(gradient.shape), not \(parameter.shape)")
                let m = firstMoments[key] ?? Self.zeros(like: parameter)
                let v = secondMoments[key] ?? Self.zeros(like: parameter)
                firstMoments[key] = m
                secondMoments[key] = v
                let g = gradient.contiguous()
                withExtendedLifetime(g) {
                    let (p, gp, mp, vp) = (parameter.basePointer, g.basePointer, m.basePointer, v.basePointer)
                    for i in 0..<parameter.count {
                        p[i] *= decay
                        mp[i] += (1 - beta1) * (gp[i] - mp[i])  // torch: exp_avg.lerp_(grad, 1 − β₁)
                        vp[i] = beta2 * vp[i] + (1 - beta2) * gp[i] * gp[i]
                        let denominator = vp[i].squareRoot() / correction2Root + epsilon
                        p[i] -= stepSize * mp[i] / denominator
                    }
                }
            }
        }
    }

    /// Clears the gradient of every parameter.
    public func zeroGradients() {
        for group in groups { for parameter in group.parameters { parameter.tensor.zeroGradient() } }
    }

    /// Changes the learning rate of the group called `name`.
    public mutating func setLearningRate(_ learningRate: Float, group name: String) {
        for index in groups.indices where groups[index].name == name { groups[index].learningRate = learningRate }
    }

    private static func zeros(like tensor: Tensor) -> Tensor { Tensor.zeros(tensor.shape) }
}
