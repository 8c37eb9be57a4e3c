import Foundation

/// A binary element-wise function, specialised by the compiler at each use.
protocol BinaryFunctor {
    static func apply(_ x: Float, _ y: Float) -> Float
}

enum AddFunctor: BinaryFunctor { @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x + y } }
enum SubtractFunctor: BinaryFunctor { @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x - y } }
enum MultiplyFunctor: BinaryFunctor { @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x * y } }
enum DivideFunctor: BinaryFunctor { @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x / y } }

/// A unary element-wise function with its derivative, written as `backward(x, y, g) = g · f'(x)`
/// where `y = f(x)` (whichever is cheaper to use).
protocol UnaryFunctor {
    static func forward(_ x: Float) -> Float
    static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float
}

private let inverseSquareRootOfTwo: Float = 0.707_106_781_186_547_5
private let inverseSquareRootOfTwoPi: Float = 0.398_942_280_401_432_7
private let squareRootOfTwoOverPi: Float = 0.797_884_560_802_865_4

enum NegateFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { -x }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float { -g }
}
enum ExpFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { Foundation.exp(x) }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float { g * y }
}
enum LogFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { Foundation.log(x) }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float { g / x }
}
enum SqrtFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { x.squareRoot() }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float { g * 0.5 / y }
}
enum RsqrtFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { 1 / x.squareRoot() }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float { -0.5 * g * y * y * y }
}
enum ReciprocalFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { 1 / x }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float { -g * y * y }
}
enum AbsFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { Swift.abs(x) }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float {
        x > 0 ? g : (x < 0 ? -g : 0)
    }
}
enum ReluFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { x > 0 ? x : 0 }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float { x > 0 ? g : 0 }
}
enum SigmoidFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float { g * y * (1 - y) }
}
enum TanhFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { Foundation.tanh(x) }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float { g * (1 - y * y) }
}
enum SiluFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { x / (1 + Foundation.exp(-x)) }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float {
        let s = 1 / (1 + Foundation.exp(-x))
        return g * (s + x * s * (1 - s))
    }
}
/// GELU with the exact normal CDF: `x · Φ(x)`.
enum GeluErfFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * inverseSquareRootOfTwo)) }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float {
        let cdf = 0.5 * (1 + erff(x * inverseSquareRootOfTwo))
        let pdf = inverseSquareRootOfTwoPi * Foundation.exp(-0.5 * x * x)
        return g * (cdf + x * pdf)
    }
}
/// GELU with the tanh approximation (PyTorch `approximate="tanh"`).
enum GeluTanhFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float {
        0.5 * x * (1 + Foundation.tanh(squareRootOfTwoOverPi * (x + 0.044715 * x * x * x)))
    }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float {
        let t = Foundation.tanh(squareRootOfTwoOverPi * (x + 0.044715 * x * x * x))
        let inner = squareRootOfTwoOverPi * (1 + 3 * 0.044715 * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner)
    }
}
/// `log(1 + eˣ)`, returning `x` above 20 as PyTorch does (beta 1, threshold 20).
enum SoftplusFunctor: UnaryFunctor {
    @inline(__always) static func forward(_ x: Float) -> Float {
        x > 20 ? x : Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x)))
    }
    @inline(__always) static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float {
        x > 20 ? g : g / (1 + Foundation.exp(-x))
    }
}

extension Kernels {
    /// `out = F(a, b)` with NumPy broadcasting; `out` is a new contiguous tensor.
    static func binary<F: BinaryFunctor>(_: F.Type, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = a.shape == b.shape ? a.shape : broadcastShapes(a.shape, b.shape)
        let result = Tensor(storage: Storage(uninitializedCount: shape.reduce(1, *)), shape: shape)
        let output = result.basePointer
        let x = a.basePointer
        let y = b.basePointer
        if a.shape == b.shape, a.isContiguous, b.isContiguous {
            ComputeThreads.parallelFor(result.count) { range in
                for i in range { output[i] = F.apply(x[i], y[i]) }
            }
            return result
        }
        let loop = StridedLoop(
            shape: shape, strides: [a.layout.broadcastStrides(to: shape), b.layout.broadcastStrides(to: shape)])
        let inner = loop.innerCount
        let strideA = loop.innerStrides[0]
        let strideB = loop.innerStrides[1]
        ComputeThreads.parallelFor(loop.rowCount, grain: loop.rowGrain) { rows in
            for row in rows {
                let pa = x + loop.offset(row: row, operand: 0)
                let pb = y + loop.offset(row: row, operand: 1)
                let po = output + row * inner
                if strideA == 1 && strideB == 1 {
                    for j in 0..<inner { po[j] = F.apply(pa[j], pb[j]) }
                } else if strideA == 1 && strideB == 0 {
                    let v = pb[0]
                    for j in 0..<inner { po[j] = F.apply(pa[j], v) }
                } else if strideA == 0 && strideB == 1 {
                    let v = pa[0]
                    for j in 0..<inner { po[j] = F.apply(v, pb[j]) }
                } else {
                    for j in 0..<inner { po[j] = F.apply(pa[j * strideA], pb[j * strideB]) }
                }
            }
        }
        return result
    }

    /// `out = transform(x)` element-wise over any view; `out` is contiguous.
    @inline(__always)
    static func map(_ input: Tensor, _ transform: (Float) -> Float) -> Tensor {
        let source = input.contiguousWithoutRecording()
        let result = Tensor(storage: Storage(uninitializedCount: input.count), shape: input.shape)
        let x = source.basePointer
        let output = result.basePointer
        ComputeThreads.parallelFor(input.count) { range in
            for i in range { output[i] = transform(x[i]) }
        }
        return result
    }

    /// `out = F.forward(x)`.
    static func unary<F: UnaryFunctor>(_: F.Type, _ input: Tensor) -> Tensor {
        map(input) { F.forward($0) }
    }

    /// `dx = F.backward(x, y, g)` for contiguous or strided `x`, `y`, `g` of one shape.
    static func unaryBackward<F: UnaryFunctor>(_: F.Type, input: Tensor, output: Tensor, gradient: Tensor)
        -> Tensor
    {
        let x = input.contiguousWithoutRecording().basePointer
        let y = output.contiguousWithoutRecording().basePointer
        let g = gradient.contiguousWithoutRecording().basePointer
        let result = Tensor(storage: Storage(uninitializedCount: input.count), shape: input.shape)
        let dx = result.basePointer
        ComputeThreads.parallelFor(input.count) { range in
            for i in range { dx[i] = F.backward(x[i], y[i], g[i]) }
        }
        return result
    }

    /// Dispatches a ``UnaryFunction`` to its specialised forward kernel.
    static func unary(_ function: UnaryFunction, _ input: Tensor) -> Tensor {
        switch function {
        case .negate: unary(NegateFunctor.self, input)
        case .exp: unary(ExpFunctor.self, input)
        case .log: unary(LogFunctor.self, input)
        case .sqrt: unary(SqrtFunctor.self, input)
        case .rsqrt: unary(RsqrtFunctor.self, input)
        case .reciprocal: unary(ReciprocalFunctor.self, input)
        case .abs: unary(AbsFunctor.self, input)
        case .relu: unary(ReluFunctor.self, input)
        case .sigmoid: unary(SigmoidFunctor.self, input)
        case .tanh: unary(TanhFunctor.self, input)
        case .silu: unary(SiluFunctor.self, input)
        case .geluErf: unary(GeluErfFunctor.self, input)
        case .geluTanh: unary(GeluTanhFunctor.self, input)
        case .softplus: unary(SoftplusFunctor.self, input)
        }
    }

    /// Dispatches a ``UnaryFunction`` to its specialised backward kernel.
    static func unaryBackward(_ function: UnaryFunction, input: Tensor, output: Tensor, gradient: Tensor)
        -> Tensor
    {
        switch function {
        case .negate: unaryBackward(NegateFunctor.self, input: input, output: output, gradient: gradient)
        case .exp: unaryBackward(ExpFunctor.self, input: input, output: output, gradient: gradient)
        case .log: unaryBackward(LogFunctor.self, input: input, output: output, gradient: gradient)
        case .sqrt: unaryBackward(SqrtFunctor.self, input: input, output: output, gradient: gradient)
        case .rsqrt: unaryBackward(RsqrtFunctor.self, input: input, output: output, gradient: gradient)
        case .reciprocal: unaryBackward(ReciprocalFunctor.self, input: input, output: output, gradient: gradient)
        case .abs: unaryBackward(AbsFunctor.self, input: input, output: output, gradient: gradient)
        case .relu: unaryBackward(ReluFunctor.self, input: input, output: output, gradient: gradient)
        case .sigmoid: unaryBackward(SigmoidFunctor.self, input: input, output: output, gradient: gradient)
        case .tanh: unaryBackward(TanhFunctor.self, input: input, output: output, gradient: gradient)
        case .silu: unaryBackward(SiluFunctor.self, input: input, output: output, gradient: gradient)
        case .geluErf: unaryBackward(GeluErfFunctor.self, input: input, output: output, gradient: gradient)
        case .geluTanh: unaryBackward(GeluTanhFunctor.self, input: input, output: output, gradient: gradient)
        case .softplus: unaryBackward(SoftplusFunctor.self, input: input, output: output, gradient: gradient)
        }
    }
}
