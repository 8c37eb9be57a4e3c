import PruneTensor

/// The λ gradients of one optimizer step, summed prompt by prompt in prompt order: each prompt's gradient is
/// taken on its own (from zero) and then added, so a data-parallel run that gathers the same per-prompt gradients
/// from its ranks adds exactly the same numbers in the same order and takes bit-identical steps.
struct MaskGradientSum {
    /// Module key → Σ of the prompts' gradients so far (`[units]`); absent until a prompt sends one.
    private(set) var sums: [String: [Float]] = [:]

    /// Adds one prompt's gradient of `module`.
    mutating func add(_ gradient: some Collection<Float>, module: String) {
        if let existing = sums[module] {
            sums[module] = zip(existing, gradient).map { $0 + $1 }
        } else {
            sums[module] = Array(gradient)
        }
    }

    /// Moves the gradients `masks` accumulated for one prompt into the sum and clears them.
    mutating func takePrompt(from masks: MaskSet) {
        for module in masks.modules {
            let lambda = masks.lambdas[module.key]!
            if let gradient = lambda.gradient { add(gradient.scalars(), module: module.key) }
        }
        masks.zeroGradients()
    }

    /// Sets the sums as the λ gradients (modules no prompt reached keep none, so AdamW skips them) and
    /// empties the sum.
    mutating func install(into masks: MaskSet) {
        for module in masks.modules {
            masks.lambdas[module.key]!.gradient = sums[module.key].map { Tensor($0, shape: [module.unitCount]) }
        }
        sums = [:]
    }
}
