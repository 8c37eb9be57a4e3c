import Foundation
import PruneTensor
import Testing

// Gradients worked out by hand, the math in a comment next to each case.

@Suite("Hand-derived gradients")
struct HandDerivedGradientTests {
    @Test("y = x² + 5x + 4 has dy/dx = 2x + 5")
    func polynomial() {
        // x = [−2, 0, 3]: y = [4 − 10 + 4, 4, 9 + 15 + 4] = [−2, 4, 28]; dy/dx = [1, 5, 11].
        let x = Tensor([-2, 0, 3], shape: [3], requiresGradient: true)
        let y = x.pow(2) + x * 5 + 4
        expectClose(y, [-2, 4, 28], shape: [3])
        y.sum().backward()
        expectClose(x.gradient, [1, 5, 11], shape: [3])
    }

    @Test("the product rule: d(x·eˣ)/dx = eˣ(1 + x)")
    func productRule() {
        // x = [0, 1]: [1, 2e].
        let x = Tensor([0, 1], shape: [2], requiresGradient: true)
        (x * x.exp()).sum().backward()
        expectClose(x.gradient, [1, 2 * Float(M_E)], shape: [2])
    }

    @Test("the quotient rule: ∂(a/b)/∂a = 1/b and ∂(a/b)/∂b = −a/b²")
    func quotientRule() {
        // a = 3, b = 2: ∂a = 0.5, ∂b = −3/4.
        let a = Tensor(scalar: 3, requiresGradient: true)
        let b = Tensor(scalar: 2, requiresGradient: true)
        let q = a / b
        #expect(q.shape == [])
        q.backward()
        expectClose(a.gradient, [0.5], shape: [])
        expectClose(b.gradient, [-0.75], shape: [])
    }

    @Test("softmax of equal logits is uniform and its gradient is p(w − Σpw)")
    func softmaxOfEqualLogits() {
        // p = 1/4 each. L = Σ pᵢwᵢ with w = [1, 0, 0, 0]: ∂L/∂zᵢ = pᵢ(wᵢ − Σ pⱼwⱼ) = ¼(wᵢ − ¼)
        // = [3/16, −1/16, −1/16, −1/16].
        let z = Tensor([2, 2, 2, 2], shape: [1, 4], requiresGradient: true)
        let p = z.softmax()
        expectClose(p, [0.25, 0.25, 0.25, 0.25], shape: [1, 4])
        (p * Tensor([1, 0, 0, 0], shape: [1, 4])).sum().backward()
        expectClose(z.gradient, [0.1875, -0.0625, -0.0625, -0.0625], shape: [1, 4])
    }

    @Test("logSoftmax of equal logits is −log n and its gradient is w − p·Σw")
    func logSoftmaxOfEqualLogits() {
        // log(1/4) = −1.3862944. With w = [1, 0, 0, 0]: ∂L/∂zᵢ = wᵢ − pᵢ Σ w = wᵢ − ¼.
        let z = Tensor([-1, -1, -1, -1], shape: [4], requiresGradient: true)
        let y = z.logSoftmax()
        expectClose(y, Array(repeating: -1.3862944, count: 4), shape: [4])
        (y * Tensor([1, 0, 0, 0], shape: [4])).sum().backward()
        expectClose(z.gradient, [0.75, -0.25, -0.25, -0.25], shape: [4])
    }

    @Test("matmul of known 2×2 matrices: dA = G·Bᵀ, dB = Aᵀ·G")
    func matmulOfKnownMatrices() {
        // A = [[1, 2], [3, 4]], B = [[5, 6], [7, 8]]: AB = [[19, 22], [43, 50]].
        // L = Σ AB, G = ones: dA = G·Bᵀ = [[11, 15], [11, 15]]; dB = Aᵀ·G = [[4, 4], [6, 6]].
        let a = Tensor([1, 2, 3, 4], shape: [2, 2], requiresGradient: true)
        let b = Tensor([5, 6, 7, 8], shape: [2, 2], requiresGradient: true)
        let c = matmul(a, b)
        expectClose(c, [19, 22, 43, 50], shape: [2, 2])
        c.sum().backward()
        expectClose(a.gradient, [11, 15, 11, 15], shape: [2, 2])
        expectClose(b.gradient, [4, 4, 6, 6], shape: [2, 2])
    }

    @Test("linear of a known input: y = x·Wᵀ + b")
    func linearOfKnownInput() {
        // x = [1, 2], W = [[1, 0], [0, 1], [1, 1]], b = [0.5, 0, −1]: y = [1.5, 2, 2].
        // L = Σ y: dx = Σ_o W[o] = [2, 2]; dW[o] = x = [1, 2] per row; db = [1, 1, 1].
        let x = Tensor([1, 2], shape: [1, 2], requiresGradient: true)
        let w = Tensor([1, 0, 0, 1, 1, 1], shape: [3, 2], requiresGradient: true)
        let b = Tensor([0.5, 0, -1], shape: [3], requiresGradient: true)
        let y = linear(x, weight: w, bias: b)
        expectClose(y, [1.5, 2, 2], shape: [1, 3])
        y.sum().backward()
        expectClose(x.gradient, [2, 2], shape: [1, 2])
        expectClose(w.gradient, [1, 2, 1, 2, 1, 2], shape: [3, 2])
        expectClose(b.gradient, [1, 1, 1], shape: [3])
    }

    @Test("conv2d of a known 3×3 image with a 2×2 difference kernel")
    func conv2dOfKnownImage() {
        // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], w = [[1, 0], [0, −1]], bias 0.5:
        // y[i, j] = x[i, j] − x[i+1, j+1] + 0.5 = −4 + 0.5 everywhere (2×2).
        // L = Σ y: dW[a, b] = Σ over windows of x[i+a, j+b]: [[1+2+4+5, 2+3+5+6], [4+5+7+8, 5+6+8+9]]
        //        = [[12, 16], [24, 28]]; dbias = 4 windows.
        // dX[p, q] = Σ over windows covering (p, q) of the tap that touches it:
        //        [[1, 1, 0], [1, 1 − 1, −1], [0, −1, −1]].
        let x = Tensor((1...9).map(Float.init), shape: [1, 1, 3, 3], requiresGradient: true)
        let w = Tensor([1, 0, 0, -1], shape: [1, 1, 2, 2], requiresGradient: true)
        let bias = Tensor([0.5], shape: [1], requiresGradient: true)
        let y = conv2d(x, weight: w, bias: bias)
        expectClose(y, [-3.5, -3.5, -3.5, -3.5], shape: [1, 1, 2, 2])
        y.sum().backward()
        expectClose(w.gradient, [12, 16, 24, 28], shape: [1, 1, 2, 2])
        expectClose(bias.gradient, [4], shape: [1])
        expectClose(x.gradient, [1, 1, 0, 1, 0, -1, 0, -1, -1], shape: [1, 1, 3, 3])
    }

    @Test("conv2d with padding 1 and stride 2 sums the padded 3×3 windows")
    func conv2dPaddedStrided() {
        // A ones 3×3 kernel over the zero-padded 5×5 image, stride 2: the four windows see
        // x[0...1, 0...1] = 12, x[0...1, 1...2] = 16, x[1...2, 0...1] = 24, x[1...2, 1...2] = 28.
        // dX counts the windows covering each pixel: corners 1, edges 2, centre 4.
        let x = Tensor((1...9).map(Float.init), shape: [1, 1, 3, 3], requiresGradient: true)
        let w = Tensor.ones([1, 1, 3, 3])
        let y = conv2d(x, weight: w, stride: (2, 2), padding: (1, 1))
        expectClose(y, [12, 16, 24, 28], shape: [1, 1, 2, 2])
        y.sum().backward()
        expectClose(x.gradient, [1, 2, 1, 2, 4, 2, 1, 2, 1], shape: [1, 1, 3, 3])
        #expect(w.gradient == nil)
    }

    @Test("group norm of [1, 2, 3, 4] in one group")
    func groupNormOfKnownVector() {
        // μ = 2.5, σ² = 1.25 (population), rstd = 1/√1.25 = 0.894427; x̂ = [−1.5, −0.5, 0.5, 1.5]·rstd.
        // L = Σ x̂ ⊙ w with w = [1, 0, 0, 0]:
        // dx = rstd·(w − mean(w) − x̂·mean(w ⊙ x̂)), mean(w) = ¼, x̂·mean(w ⊙ x̂) = [0.45, 0.15, −0.15, −0.45]
        //    = rstd·[0.3, −0.4, −0.1, 0.2] = [0.268328, −0.357771, −0.0894427, 0.178885].
        let x = Tensor([1, 2, 3, 4], shape: [1, 4, 1], requiresGradient: true)
        let y = groupNorm(x, groups: 1, epsilon: 0)
        expectClose(y, [-1.3416408, -0.4472136, 0.4472136, 1.3416408], shape: [1, 4, 1])
        (y * Tensor([1, 0, 0, 0], shape: [1, 4, 1])).sum().backward()
        expectClose(x.gradient, [0.268328, -0.357771, -0.0894427, 0.178885], shape: [1, 4, 1], absolute: 2e-6)
    }

    @Test("group norm with two groups and an affine transform")
    func groupNormTwoGroupsAffine() {
        // Groups [1, 2] and [3, 4] each normalise to [−1, 1] (σ = 0.5).
        // weight [1, 2, 3, 4], bias [0, 0, 0, 1]: y = [−1, 2, −3, 5].
        // L = Σ y: dweight = x̂ = [−1, 1, −1, 1], dbias = 1; dx = 0 (a normalised group is shift-invariant
        // and Σ x̂ = 0, so dx = rstd·(w − mean(w) − x̂·mean(w ⊙ x̂)) with per-channel w: see below).
        // Group 1: w = [1, 2], mean 1.5, mean(w ⊙ x̂) = (−1 + 2)/2 = 0.5, rstd = 2:
        //   dx = 2·([1, 2] − 1.5 − [−1, 1]·0.5) = 2·[0, 0] = [0, 0]. Same for group 2 ([3, 4]).
        let x = Tensor([1, 2, 3, 4], shape: [1, 4], requiresGradient: true)
        let weight = Tensor([1, 2, 3, 4], shape: [4], requiresGradient: true)
        let bias = Tensor([0, 0, 0, 1], shape: [4], requiresGradient: true)
        let y = groupNorm(x, groups: 2, weight: weight, bias: bias, epsilon: 0)
        expectClose(y, [-1, 2, -3, 5], shape: [1, 4])
        y.sum().backward()
        expectClose(weight.gradient, [-1, 1, -1, 1], shape: [4])
        expectClose(bias.gradient, [1, 1, 1, 1], shape: [4])
        expectClose(x.gradient, [0, 0, 0, 0], shape: [1, 4])
    }

    @Test("layer norm and RMS norm of known rows")
    func layerAndRMSNorm() {
        // layerNorm([1, 2, 3, 4]) = (x − 2.5)/√1.25.
        let x = Tensor([1, 2, 3, 4], shape: [1, 4])
        expectClose(layerNorm(x, epsilon: 0), [-1.3416408, -0.4472136, 0.4472136, 1.3416408], shape: [1, 4])
        // rmsNorm([3, 4]): rms = √((9 + 16)/2) = √12.5 = 3.5355339, y = [0.8485281, 1.1313708].
        // L = Σ y = (x₁ + x₂)·√2/‖x‖: ∂L/∂x₁ = √2·(1/‖x‖ − (x₁ + x₂)x₁/‖x‖³) = √2·(0.2 − 21/125) = 0.0452548,
        // ∂L/∂x₂ = √2·(0.2 − 28/125) = −0.0339411.
        let v = Tensor([3, 4], shape: [2], requiresGradient: true)
        let y = rmsNorm(v, epsilon: 0)
        expectClose(y, [0.8485281, 1.1313708], shape: [2])
        y.sum().backward()
        expectClose(v.gradient, [0.0452548, -0.0339411], shape: [2], absolute: 1e-6)
    }

    @Test("mean, max with ties, and variance")
    func reductions() {
        // d mean/dx = 1/n.
        let x = Tensor([1, 3, 3, 2], shape: [4], requiresGradient: true)
        x.mean().backward()
        expectClose(x.gradient, [0.25, 0.25, 0.25, 0.25], shape: [4])
        // max = 3 is tied: the gradient is shared, [0, ½, ½, 0].
        x.zeroGradient()
        let m = x.max()
        expectClose(m, [3], shape: [])
        m.backward()
        expectClose(x.gradient, [0, 0.5, 0.5, 0], shape: [4])
        // var([1, 2, 3, 4]) = 1.25 (population) or 5/3 (unbiased); d var/dxᵢ = 2(xᵢ − x̄)/n.
        let y = Tensor([1, 2, 3, 4], shape: [4], requiresGradient: true)
        expectClose(y.variance(correction: 1), [5.0 / 3.0], shape: [])
        let v = y.variance()
        expectClose(v, [1.25], shape: [])
        v.backward()
        expectClose(y.gradient, [-0.75, -0.25, 0.25, 0.75], shape: [4])
    }

    @Test("mean squared error: ∂/∂a = 2(a − b)/n, ∂/∂b = −∂/∂a")
    func meanSquaredErrorGradient() {
        // a = [1, 2, 3], b = [1, 1, 1]: (0 + 1 + 4)/3 = 5/3; ∂a = [0, 2/3, 4/3].
        let a = Tensor([1, 2, 3], shape: [3], requiresGradient: true)
        let b = Tensor([1, 1, 1], shape: [3], requiresGradient: true)
        let loss = meanSquaredError(a, b)
        expectClose(loss, [5.0 / 3.0], shape: [])
        loss.backward()
        expectClose(a.gradient, [0, 2.0 / 3.0, 4.0 / 3.0], shape: [3])
        expectClose(b.gradient, [0, -2.0 / 3.0, -4.0 / 3.0], shape: [3])
    }

    @Test("attention over identical keys averages the values and gives the query no gradient")
    func attentionOverIdenticalKeys() {
        // Every score is equal, so P = ⅓ and O = mean(v) = [3, 4]. With dO = [1, 0]:
        // dP = dO·Vᵀ = [1, 3, 5], rowDot = dO·O = 3, dS = P ⊙ (dP − 3) = [−⅔, 0, ⅔];
        // dQ = s·Σⱼ dSⱼ kⱼ = 0 (Σ dS = 0, kⱼ equal); dK = s·dSᵀ q; dV = Pᵀ dO = [⅓, 0] per key.
        let q = Tensor([1, 0], shape: [1, 1, 1, 2], requiresGradient: true)
        let k = Tensor([1, 2, 1, 2, 1, 2], shape: [1, 1, 3, 2], requiresGradient: true)
        let v = Tensor([1, 2, 3, 4, 5, 6], shape: [1, 1, 3, 2], requiresGradient: true)
        let o = scaledDotProductAttention(query: q, key: k, value: v)
        expectClose(o, [3, 4], shape: [1, 1, 1, 2])
        (o * Tensor([1, 0], shape: [1, 1, 1, 2])).sum().backward()
        let s: Float = 1 / Float(2).squareRoot()
        expectClose(q.gradient, [0, 0], shape: [1, 1, 1, 2], absolute: 1e-6)
        expectClose(k.gradient, [-2.0 / 3.0 * s, 0, 0, 0, 2.0 / 3.0 * s, 0], shape: [1, 1, 3, 2], absolute: 1e-6)
        expectClose(v.gradient, [1.0 / 3.0, 0, 1.0 / 3.0, 0, 1.0 / 3.0, 0], shape: [1, 1, 3, 2])
    }

    @Test("a rotary embedding rotates each pair by its angle")
    func rotaryRotatesPairs() {
        // (a, b) = (2, 3), cos θ = 0.6, sin θ = 0.8: (a·c − b·s, b·c + a·s) = (−1.2, 3.4).
        // L = Σ out: ∂a = c + s = 1.4, ∂b = c − s = −0.2.
        let x = Tensor([2, 3], shape: [1, 1, 1, 2], requiresGradient: true)
        let y = applyRotaryEmbedding(x, cos: Tensor([0.6, 0.6], shape: [1, 2]), sin: Tensor([0.8, 0.8], shape: [1, 2]))
        expectClose(y, [-1.2, 3.4], shape: [1, 1, 1, 2])
        y.sum().backward()
        expectClose(x.gradient, [1.4, -0.2], shape: [1, 1, 1, 2])
    }

    @Test("clamp passes the gradient inside the range only")
    func clampGradient() {
        // clamp([−2, 0, 2], −1…1) = [−1, 0, 1]; gradient [0, 1, 0].
        let x = Tensor([-2, 0, 2], shape: [3], requiresGradient: true)
        let y = x.clamped(to: -1...1)
        expectClose(y, [-1, 0, 1], shape: [3])
        y.sum().backward()
        expectClose(x.gradient, [0, 1, 0], shape: [3])
    }

    @Test("index select with repeated indices accumulates, pad and upsample route gradients back")
    func routingOps() {
        // x[[0, 0, 2]]: ∂x = [2, 0, 1].
        let x = Tensor([10, 20, 30], shape: [3], requiresGradient: true)
        let picked = x.indexSelect(axis: 0, indices: [0, 0, 2])
        expectClose(picked, [10, 10, 30], shape: [3])
        picked.sum().backward()
        expectClose(x.gradient, [2, 0, 1], shape: [3])
        // Nearest 2× upsampling copies each pixel into a 2×2 block: each input gets 4.
        let image = Tensor([1, 2], shape: [1, 1, 1, 2], requiresGradient: true)
        let up = image.upsampledNearest2x()
        expectClose(up, [1, 1, 2, 2, 1, 1, 2, 2], shape: [1, 1, 2, 4])
        up.sum().backward()
        expectClose(image.gradient, [4, 4], shape: [1, 1, 1, 2])
        // Padding: only the interior flows back.
        let p = Tensor([1, 2], shape: [1, 2], requiresGradient: true)
        let padded = p.padded([(1, 0), (0, 1)], value: 9)
        expectClose(padded, [9, 9, 9, 1, 2, 9], shape: [2, 3])
        (padded * Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])).sum().backward()
        expectClose(p.gradient, [4, 5], shape: [1, 2])
    }
}

/// One element-wise function at one point, with its value and derivative worked out by hand.
struct UnaryPoint: Sendable, CustomTestStringConvertible {
    let function: UnaryFunction
    let x: Float
    let value: Float
    let derivative: Float
    var testDescription: String { "\(function.rawValue) at \(x)" }
}

@Suite("Hand-derived element-wise derivatives")
struct HandDerivedUnaryTests {
    static let points: [UnaryPoint] = [
        UnaryPoint(function: .negate, x: 2, value: -2, derivative: -1),
        UnaryPoint(function: .exp, x: 0, value: 1, derivative: 1),  // eˣ
        UnaryPoint(function: .log, x: 2, value: 0.6931472, derivative: 0.5),  // 1/x
        UnaryPoint(function: .sqrt, x: 4, value: 2, derivative: 0.25),  // 1/(2√x)
        UnaryPoint(function: .rsqrt, x: 4, value: 0.5, derivative: -0.0625),  // −½x^(−3/2)
        UnaryPoint(function: .reciprocal, x: 2, value: 0.5, derivative: -0.25),  // −1/x²
        UnaryPoint(function: .abs, x: -3, value: 3, derivative: -1),
        UnaryPoint(function: .relu, x: -1, value: 0, derivative: 0),
        UnaryPoint(function: .relu, x: 2, value: 2, derivative: 1),
        UnaryPoint(function: .sigmoid, x: 0, value: 0.5, derivative: 0.25),  // σ(1 − σ)
        UnaryPoint(function: .sigmoid, x: 1, value: 0.7310586, derivative: 0.1966119),
        UnaryPoint(function: .tanh, x: 0, value: 0, derivative: 1),  // 1 − tanh²
        UnaryPoint(function: .tanh, x: 1, value: 0.7615942, derivative: 0.4199743),
        UnaryPoint(function: .silu, x: 0, value: 0, derivative: 0.5),  // σ + xσ(1 − σ)
        UnaryPoint(function: .silu, x: 1, value: 0.7310586, derivative: 0.9276705),
        UnaryPoint(function: .geluErf, x: 0, value: 0, derivative: 0.5),  // Φ(x) + xφ(x)
        UnaryPoint(function: .geluErf, x: 1, value: 0.8413447, derivative: 1.0833155),
        UnaryPoint(function: .geluTanh, x: 1, value: 0.8411920, derivative: 1.0829641),
        UnaryPoint(function: .softplus, x: 0, value: 0.6931472, derivative: 0.5),  // log(1 + eˣ)' = σ(x)
        UnaryPoint(function: .softplus, x: 1, value: 1.3132617, derivative: 0.7310586),
        UnaryPoint(function: .softplus, x: 30, value: 30, derivative: 1),  // identity above 20
    ]

    @Test("value and derivative of each element-wise function at a known point", arguments: points)
    func valueAndDerivative(_ point: UnaryPoint) {
        let x = Tensor([point.x], shape: [1], requiresGradient: true)
        let y = x.applying(point.function)
        expectClose(y, [point.value], shape: [1], absolute: 1e-6)
        y.sum().backward()
        expectClose(x.gradient, [point.derivative], shape: [1], absolute: 1e-6)
    }

    @Test("the named wrappers apply the matching function")
    func namedWrappers() {
        let x = Tensor([0.5, 1.5], shape: [2])
        let pairs: [(Tensor, UnaryFunction)] = [
            (x.exp(), .exp), (x.log(), .log), (x.sqrt(), .sqrt), (x.rsqrt(), .rsqrt),
            (x.reciprocal(), .reciprocal), (x.abs(), .abs), (x.relu(), .relu), (x.sigmoid(), .sigmoid),
            (x.tanh(), .tanh), (x.silu(), .silu), (x.gelu(), .geluErf), (x.gelu(approximateWithTanh: true), .geluTanh),
            (x.softplus(), .softplus), (-x, .negate),
        ]
        for (result, function) in pairs {
            expectClose(result.scalars(), x.applying(function).scalars(), absolute: 0, relative: 0, "\(function)")
        }
    }
}

/// The GEMM operation counter used by the model benchmarks.
@Suite struct OperationCounterTests {
    @Test("A matmul of [4, 5] by [5, 6] counts 2·4·5·6 operations")
    func matmulCountsTwiceMNK() {
        let a = Tensor.ones([4, 5])
        let b = Tensor.ones([5, 6])
        let (_, operations) = OperationCounter.counting { matmul(a, b) }
        #expect(operations >= 240)
    }
}
