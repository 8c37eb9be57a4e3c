import PruneTensor
import Testing

// Finite-difference gradient checking.
//
// A check takes a forward function of some leaf tensors, forms the scalar loss
// `L = Σ forward(inputs) ⊙ W` with fixed random weights `W`, runs `backward()` and compares every
// element of every input's `.gradient` with the central difference
// `(L(x + ε) − L(x − ε)) / (x₊ − x₋)`, where the forward runs in float32 (as the engine always does)
// and `L` is accumulated in Double. `x₊ − x₋` is the perturbation actually representable in float32.

/// Knobs of one gradient check.
struct GradientCheckOptions: Sendable {
    /// The central-difference step.
    var epsilon: Float = 1e-2
    /// Allowed absolute difference between the analytic and the numeric gradient.
    var absoluteTolerance: Double = 2e-3
    /// Allowed difference relative to the larger of the two gradients.
    var relativeTolerance: Double = 1e-2
    /// Escape hatch for non-smooth ops: skip elements whose one-sided differences disagree (a kink lies
    /// within `epsilon`). Inputs should still be drawn away from kinks; skipping must stay rare.
    var skipsNonSmoothPoints: Bool = false
    /// The most elements (over all inputs) that may be skipped as non-smooth.
    var maximumSkipped: Int = 2
}

/// The kinds of every op recorded in the graph that produced `tensor` (walks `op` and `Op.inputs`).
func recordedOpKinds(from tensor: Tensor) -> Set<OpKind> {
    var kinds = Set<OpKind>()
    var visited = Set<ObjectIdentifier>()
    var stack = [tensor]
    while let node = stack.popLast() {
        guard visited.insert(ObjectIdentifier(node)).inserted, let op = node.op else { continue }
        kinds.insert(op.kind)
        stack.append(contentsOf: op.inputs.compactMap { $0 })
    }
    return kinds
}

/// `Σ output ⊙ weights` in Double.
func weightedSum(_ output: Tensor, _ weights: [Float]) -> Double {
    zip(output.scalars(), weights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}

/// Checks the gradients of `forward` at `inputs` against central differences.
///
/// Every input must be a contiguous float32 leaf; those with `requiresGradient` are checked, the others
/// are treated as constants and must not receive a gradient.
func checkGradients(
    of forward: ([Tensor]) -> Tensor, at inputs: [Tensor], weightsSeed: UInt64 = 7,
    options: GradientCheckOptions = GradientCheckOptions(), sourceLocation: SourceLocation = #_sourceLocation
) {
    for (index, input) in inputs.enumerated() {
        precondition(input.isLeaf && input.isContiguous && input.dtype == .float32, "input \(index) must be a contiguous leaf")
        input.zeroGradient()
    }
    // Analytic gradients.
    let output = forward(inputs)
    #expect(output.requiresGradient, "the output does not require a gradient", sourceLocation: sourceLocation)
    #expect(output.op != nil, "the output was not recorded", sourceLocation: sourceLocation)
    let weights = Tensor.randomNormal(output.shape, seed: weightsSeed)
    let weightValues = weights.scalars()
    let loss = (output * weights).sum()
    loss.backward()
    #expect(output.op == nil, "backward did not free the graph", sourceLocation: sourceLocation)

    // Numeric gradients.
    let baseline = withoutGradients { weightedSum(forward(inputs), weightValues) }
    var mismatches: [String] = []
    var compared = 0
    var skipped = 0
    for (inputIndex, input) in inputs.enumerated() {
        guard input.requiresGradient else {
            #expect(input.gradient == nil, "constant input \(inputIndex) received a gradient", sourceLocation: sourceLocation)
            continue
        }
        guard let gradient = input.gradient else {
            Issue.record("input \(inputIndex) \(input.shape) received no gradient", sourceLocation: sourceLocation)
            continue
        }
        guard gradient.shape == input.shape else {
            Issue.record(
                "input \(inputIndex): gradient shape \(gradient.shape) differs from input shape \(input.shape)",
                sourceLocation: sourceLocation)
            continue
        }
        let analytic = gradient.scalars()
        let values = input.basePointer
        for element in 0..<input.count {
            let original = values[element]
            let plus = original + options.epsilon
            let minus = original - options.epsilon
            values[element] = plus
            let lossPlus = withoutGradients { weightedSum(forward(inputs), weightValues) }
            values[element] = minus
            let lossMinus = withoutGradients { weightedSum(forward(inputs), weightValues) }
            values[element] = original
            let step = Double(plus) - Double(minus)
            let numeric = (lossPlus - lossMinus) / step
            let expected = Double(analytic[element])
            let allowed = options.absoluteTolerance
                + options.relativeTolerance * Swift.max(Swift.abs(expected), Swift.abs(numeric))
            if options.skipsNonSmoothPoints {
                let forwardSlope = (lossPlus - baseline) / (Double(plus) - Double(original))
                let backwardSlope = (baseline - lossMinus) / (Double(original) - Double(minus))
                if Swift.abs(forwardSlope - backwardSlope) > 4 * allowed {
                    skipped += 1
                    continue
                }
            }
            compared += 1
            if !(Swift.abs(expected - numeric) <= allowed) {
                mismatches.append(
                    "input \(inputIndex) \(input.shape) element \(element) \(multiIndex(element, in: input.shape)): "
                        + "analytic \(expected), numeric \(numeric)")
            }
        }
    }
    #expect(skipped <= options.maximumSkipped, "skipped \(skipped) non-smooth points", sourceLocation: sourceLocation)
    if !mismatches.isEmpty {
        let message = "\(mismatches.count) of \(compared) gradient elements differ from central differences:\n"
            + mismatches.prefix(8).joined(separator: "\n")
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
}

// MARK: - Input makers

/// Draws inputs for gradient checks from a seeded generator.
struct InputMaker {
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// A leaf of uniform values in `range` that requires a gradient, resampling values closer than
    /// `margin` to any of `kinks` (points where the op is not differentiable).
    mutating func leaf(
        _ shape: [Int], in range: ClosedRange<Float> = -1...1, awayFrom kinks: [Float] = [], margin: Float = 0.05,
        requiresGradient: Bool = true
    ) -> Tensor {
        let count = shape.reduce(1, *)
        var values: [Float] = []
        values.reserveCapacity(count)
        while values.count < count {
            let v = range.lowerBound + (range.upperBound - range.lowerBound) * generator.nextUniform()
            if kinks.allSatisfy({ Swift.abs(v - $0) >= margin }) { values.append(v) }
        }
        return Tensor(values, shape: shape, requiresGradient: requiresGradient)
    }

    /// A leaf of standard-normal values.
    mutating func normal(_ shape: [Int], requiresGradient: Bool = true) -> Tensor {
        Tensor.randomNormal(shape, using: &generator, requiresGradient: requiresGradient)
    }

    /// A constant (no gradient) of uniform values in `range`.
    mutating func constant(_ shape: [Int], in range: ClosedRange<Float> = -1...1) -> Tensor {
        leaf(shape, in: range, requiresGradient: false)
    }

    /// A leaf whose values are distinct and at least `spacing` apart (for max: no ties within ε).
    mutating func distinct(_ shape: [Int], spacing: Float = 0.1) -> Tensor {
        let count = shape.reduce(1, *)
        var values = (0..<count).map { Float($0) * spacing - Float(count) * spacing / 2 }
        values.shuffle(using: &generator)
        return Tensor(values, shape: shape, requiresGradient: true)
    }
}
