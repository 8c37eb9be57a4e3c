import PruneTensor
import Testing

/// The four broadcasting binary operators with their partial derivatives.
enum BinaryOperator: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case add, subtract, multiply, divide

    func callAsFunction(_ a: Tensor, _ b: Tensor) -> Tensor {
        switch self {
        case .add: a + b
        case .subtract: a - b
        case .multiply: a * b
        case .divide: a / b
        }
    }

    /// The value and `(∂/∂a, ∂/∂b)` at one pair of elements.
    func reference(_ a: Double, _ b: Double) -> (value: Double, da: Double, db: Double) {
        switch self {
        case .add: (a + b, 1, 1)
        case .subtract: (a - b, 1, -1)
        case .multiply: (a * b, b, a)
        case .divide: (a / b, 1 / b, -a / (b * b))
        }
    }

    var testDescription: String { rawValue }
}

/// A pair of operand shapes.
struct ShapePair: Sendable, CustomTestStringConvertible {
    let a: [Int]
    let b: [Int]
    var testDescription: String { "\(a) with \(b)" }
}

@Suite("Broadcasting")
struct BroadcastingTests {
    static let pairs: [ShapePair] = [
        ShapePair(a: [3, 1, 4], b: [2, 1]), ShapePair(a: [2, 1], b: [3, 1, 4]),
        ShapePair(a: [2, 3], b: [1]), ShapePair(a: [1], b: [2, 3]),
        ShapePair(a: [2, 3], b: []), ShapePair(a: [], b: [2, 3]), ShapePair(a: [], b: []),
        ShapePair(a: [4, 1], b: [1, 5]), ShapePair(a: [2, 3, 4], b: [3, 1]),
        ShapePair(a: [1, 1, 3], b: [2, 1, 1]), ShapePair(a: [5], b: [5]),
    ]

    @Test(
        "values and gradients of a broadcast binary op match a loop-by-loop reference",
        arguments: pairs, BinaryOperator.allCases)
    func matchesReference(_ pair: ShapePair, _ op: BinaryOperator) {
        var generator = SeededGenerator(seed: stableSeed(pair.testDescription + op.rawValue))
        let a = Tensor.randomUniform(pair.a, low: -1, high: 1, using: &generator, requiresGradient: true)
        let b = Tensor.randomUniform(pair.b, low: 0.5, high: 1.5, using: &generator, requiresGradient: true)
        let outputShape = referenceBroadcastShape(pair.a, pair.b)
        let weights = Tensor.randomNormal(outputShape, using: &generator)
        let y = op(a, b)
        #expect(y.shape == outputShape)
        #expect(broadcastShapes(pair.a, pair.b) == outputShape)
        (y * weights).sum().backward()

        let (av, bv, wv) = (doubles(a), doubles(b), doubles(weights))
        var expected = [Float]()
        var da = [Double](repeating: 0, count: a.count)
        var db = [Double](repeating: 0, count: b.count)
        for flat in 0..<outputShape.reduce(1, *) {
            let index = multiIndex(flat, in: outputShape)
            let (i, j) = (broadcastSourceIndex(index, from: pair.a), broadcastSourceIndex(index, from: pair.b))
            let r = op.reference(av[i], bv[j])
            expected.append(Float(r.value))
            da[i] += r.da * wv[flat]
            db[j] += r.db * wv[flat]
        }
        expectClose(y.scalars(), expected, absolute: 1e-6)
        // Gradient shapes equal the input shapes, not the broadcast shape.
        expectClose(a.gradient, da.map(Float.init), shape: pair.a, absolute: 1e-5)
        expectClose(b.gradient, db.map(Float.init), shape: pair.b, absolute: 1e-5)
    }

    @Test("broadcasting a transposed (strided) operand against a row")
    func stridedOperand() {
        // xᵀ[i, j] = x[j, i]; (xᵀ + r)[i, j] = x[j, i] + r[j].
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], requiresGradient: true)
        let r = Tensor([10, 20], shape: [2], requiresGradient: true)
        let y = x.transposed() + r
        expectClose(y, [11, 24, 12, 25, 13, 26], shape: [3, 2])
        (y * Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2])).sum().backward()
        // ∂x[j, i] = w[i, j]; ∂r[j] = Σᵢ w[i, j].
        expectClose(x.gradient, [1, 3, 5, 2, 4, 6], shape: [2, 3])
        expectClose(r.gradient, [9, 12], shape: [2])
    }

    @Test("a broadcast operand used on both sides accumulates both contributions")
    func broadcastOperandUsedTwice() {
        // y = b·x + b with x [2, 3], b [3]: ∂b = Σ over rows of (x + 1).
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor([1, 1, 1], shape: [3], requiresGradient: true)
        (b * x + b).sum().backward()
        expectClose(b.gradient, [7, 9, 11], shape: [3])
    }

    @Test("a rank-0 tensor broadcast over a matrix sums the whole gradient")
    func rankZero() {
        let s = Tensor(scalar: 2, requiresGradient: true)
        let m = Tensor([1, 2, 3, 4], shape: [2, 2], requiresGradient: true)
        let y = s * m
        expectClose(y, [2, 4, 6, 8], shape: [2, 2])
        y.sum().backward()
        expectClose(s.gradient, [10], shape: [])
        expectClose(m.gradient, [2, 2, 2, 2], shape: [2, 2])
    }
}
