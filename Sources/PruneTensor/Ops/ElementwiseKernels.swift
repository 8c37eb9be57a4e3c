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
///
/// The eight-lane forms process whole vectors; by default they apply the scalar form lane by lane, and
/// functors built on `exp` override them with ``VectorMath/exp(_:)`` so the kernels vectorise.
protocol UnaryFunctor {
    static func forward(_ x: Float) -> Float
    static func backward(_ x: Float, _ y: Float, _ g: Float) -> Float
    static func forward(_ x: SIMD8<Float>) -> SIMD8<Float>
    static func backward(_ x: SIMD8<Float>, _ y: SIMD8<Float>, _ g: SIMD8<Float>) -> SIMD8<Float>
}

extension UnaryFunctor {
    @inline(__always) static func forward(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var result = SIMD8<Float>()
        for lane in 0..<8 { result[lane] = forward(x[lane]) }
        return result
    }
    @inline(__always) static func backward(_ x: SIMD8<Float>, _ y: SIMD8<Float>, _ g: SIMD8<Float>) -> SIMD8<Float> {
        var result = SIMD8<Float>()
        for lane in 0..<8 { result[lane] = backward(x[lane], y[lane], g[lane]) }
        return result
    }
}

/// Eight-lane transcendental functions, so exp-based kernels run vectorised instead of calling libm per
/// element.
enum VectorMath {
    /// `eˣ` lane-wise, within 2 ulp of `expf` (Cephes polynomial after reduction by `n · ln 2`). Overflows
    /// to `+∞` above ≈ 88.72, gives subnormals and then 0 below ≈ −87.3, maps `−∞` to 0 and keeps NaN.
    @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Clamping keeps 2ⁿ representable as two factors; the clamped ends still over/underflow correctly,
        // and a NaN passes the clamp and every step after it unchanged.
        let clamped = minimum(SIMD8(repeating: 89), maximum(SIMD8(repeating: -104), x))
        let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5 · 2²³: adding it rounds to an integer
        let shifted = clamped * 1.442_695_040_888_963_4 + magic
        let n = shifted - magic
        // r = x − n · ln 2 in two steps (ln 2 split into an exact high part and a correction).
        var r = clamped - n * 0.693_359_375
        r = r + n * 2.121_944_4e-4
        var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * (r * r) + r + 1
        // 2ⁿ as 2^⌊n/2⌋ · 2^(n−⌊n/2⌋), each built from exponent bits.
        let k = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let half = k &>> 1
        let scaleA = unsafeBitCast((half &+ 127) &<< 23, to: SIMD8<Float>.self)
        let scaleB = unsafeBitCast((k &- half &+ 127) &<< 23, to: SIMD8<Float>.self)
        return p * scaleA * scaleB
    }

    /// Lane-wise `a > b ? a : b`: one `maxps`, and a NaN in `b` is kept. (`pointwiseMax` is an opaque
    /// call and `replacing(with:where:)` a compare-and-blend sequence.)
    @inline(__always)
    static func maximum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        var result = b
        for lane in 0..<8 { result[lane] = a[lane] > b[lane] ? a[lane] : b[lane] }
        return result
    }

    /// Lane-wise `a < b ? a : b`: one `minps`, and a NaN in `b` is kept.
    @inline(__always)
    static func minimum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        var result = b
        for lane in 0..<8 { result[lane] = a[lane] < b[lane] ? a[lane] : b[lane] }
        return result
    }

    /// `1 / (1 + e⁻ˣ)` lane-wise.
    @inline(__always)
    static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 / (1 + exp(-x)) }

    /// The error function lane-wise, within 1.5·10⁻⁷ absolute of `erf`: Abramowitz & Stegun 7.1.26,
    /// `sign(x)·(1 − (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵)·e^(−x²))` with `t = 1/(1 + p|x|)` — the same
    /// approximation PyTorch's vectorised CPU `erf` (and so its exact GELU) uses. NaN stays NaN.
    @inline(__always)
    static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let magnitude = maximum(x, -x)
        let t = 1 / (1 + 0.327_591_1 * magnitude)
        var polynomial = SIMD8<Float>(repeating: 1.061_405_429)
        polynomial = polynomial * t - 1.453_152_027
        polynomial = polynomial * t + 1.421_413_741
        polynomial = polynomial * t - 0.284_496_736
        polynomial = polynomial * t + 0.254_829_592
        let value = 1 - polynomial * t * exp(-(magnitude * magnitude))
        // Copy x's sign bit onto the non-negative value.
        let sign = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
        return unsafeBitCast(unsafeBitCast(value, to: SIMD8<UInt32>.self) | sign, to: SIMD8<Float>.self)
    }

    /// Loads eight floats.
    @inline(__always)
    static func load(_ source: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(source).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Stores eight floats.
    @inline(__always)
    static func store(_ value: SIMD8<Float>, _ target: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(target).storeBytes(of: value, as: SIMD8<Float>.self)
    }

    /// Loads `count` (< 8) floats, zero-filling the remaining lanes (for loop tails).
    @inline(never)
    static func load(_ source: UnsafePointer<Float>, count: Int) -> SIMD8<Float> {
        var result = SIMD8<Float>()
        for lane in 0..<count { result[lane] = source[lane] }
        return result
    }

    /// Stores the first `count` (< 8) lanes of `value` (for loop tails).
    @inline(never)
    static func store(_ value: SIMD8<Float>, _ target: UnsafeMutablePointer<Float>, count: Int) {
        for lane in 0..<count { target[lane] = value[lane] }
    }
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
    @inline(__always) static func forward(_ x: SIMD8<Float>) -> SIMD8<Float> { VectorMath.exp(x) }
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
    @inline(__always) static func forward(_ x: SIMD8<Float>) -> SIMD8<Float> { VectorMath.sigmoid(x) }
    @inline(__always) static func backward(_ x: SIMD8<Float>, _ y: SIMD8<Float>, _ g: SIMD8<Float>) -> SIMD8<Float> {
        g * y * (1 - y)
    }
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
    @inline(__always) static func forward(_ x: SIMD8<Float>) -> SIMD8<Float> { x / (1 + VectorMath.exp(-x)) }
    @inline(__always) static func backward(_ x: SIMD8<Float>, _ y: SIMD8<Float>, _ g: SIMD8<Float>) -> SIMD8<Float> {
        let s = VectorMath.sigmoid(x)
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
    @inline(__always) static func forward(_ x: SIMD8<Float>) -> SIMD8<Float> {
        0.5 * x * (1 + VectorMath.erf(x * inverseSquareRootOfTwo))
    }
    @inline(__always) static func backward(_ x: SIMD8<Float>, _ y: SIMD8<Float>, _ g: SIMD8<Float>) -> SIMD8<Float> {
        let cdf = 0.5 * (1 + VectorMath.erf(x * inverseSquareRootOfTwo))
        let pdf = inverseSquareRootOfTwoPi * VectorMath.exp(-0.5 * x * x)
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
    // Vectorised through 0.5·(1 + tanh(u)) = sigmoid(2u): `x · sigmoid(2u)`, and the derivative
    // `s + 2·x·s·(1 − s)·u'` with s = sigmoid(2u). Scalar `tanhf` (via `expm1f`) was a quarter of a FLUX
    // forward's time.
    @inline(__always) static func forward(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let u = squareRootOfTwoOverPi * (x + 0.044715 * x * x * x)
        return x / (1 + VectorMath.exp(-2 * u))
    }
    @inline(__always) static func backward(_ x: SIMD8<Float>, _ y: SIMD8<Float>, _ g: SIMD8<Float>) -> SIMD8<Float> {
        let u = squareRootOfTwoOverPi * (x + 0.044715 * x * x * x)
        let s = 1 / (1 + VectorMath.exp(-2 * u))
        let inner = squareRootOfTwoOverPi * (1 + 3 * 0.044715 * x * x)
        return g * (s + 2 * x * s * (1 - s) * inner)
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
    /// A new uninitialised contiguous tensor for a kernel to fill (large buffers get huge pages, see
    /// ``Storage/adviseHugePages(_:byteCount:)``).
    static func uninitializedOutput(_ shape: [Int]) -> Tensor {
        Tensor(storage: Storage(uninitializedCount: shape.reduce(1, *)), shape: shape)
    }

    /// `out = F(a, b)` with NumPy broadcasting; `out` is a new contiguous tensor.
    static func binary<F: BinaryFunctor>(_: F.Type, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = a.shape == b.shape ? a.shape : broadcastShapes(a.shape, b.shape)
        let result = uninitializedOutput(shape)
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
        defer { withExtendedLifetime(source) {} }  // `x` points into it
        let result = uninitializedOutput(input.shape)
        let x = source.basePointer
        let output = result.basePointer
        ComputeThreads.parallelFor(input.count) { range in
            for i in range { output[i] = transform(x[i]) }
        }
        return result
    }

    /// `out = F.forward(x)`, eight lanes at a time (the tail too, so every element takes the same path
    /// whatever the thread count).
    static func unary<F: UnaryFunctor>(_: F.Type, _ input: Tensor) -> Tensor {
        let source = input.contiguousWithoutRecording()
        defer { withExtendedLifetime(source) {} }  // `x` points into it
        let x = source.basePointer
        let result = uninitializedOutput(input.shape)
        let output = result.basePointer
        ComputeThreads.parallelFor(input.count) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                VectorMath.store(F.forward(VectorMath.load(x + i)), output + i)
                i += 8
            }
            let tail = range.upperBound - i
            if tail > 0 { VectorMath.store(F.forward(VectorMath.load(x + i, count: tail)), output + i, count: tail) }
        }
        return result
    }

    /// `dx = F.backward(x, y, g)` for contiguous or strided `x`, `y`, `g` of one shape.
    static func unaryBackward<F: UnaryFunctor>(_: F.Type, input: Tensor, output: Tensor, gradient: Tensor)
        -> Tensor
    {
        let xContiguous = input.contiguousWithoutRecording()
        defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
        let x = xContiguous.basePointer
        let yContiguous = output.contiguousWithoutRecording()
        defer { withExtendedLifetime(yContiguous) {} }  // `y` points into it
        let y = yContiguous.basePointer
        let gContiguous = gradient.contiguousWithoutRecording()
        defer { withExtendedLifetime(gContiguous) {} }  // `g` points into it
        let g = gContiguous.basePointer
        let result = uninitializedOutput(input.shape)
        let dx = result.basePointer
        ComputeThreads.parallelFor(input.count) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                VectorMath.store(F.backward(VectorMath.load(x + i), VectorMath.load(y + i), VectorMath.load(g + i)), dx + i)
                i += 8
            }
            let tail = range.upperBound - i
            if tail > 0 {
                let value = F.backward(
                    VectorMath.load(x + i, count: tail), VectorMath.load(y + i, count: tail),
                    VectorMath.load(g + i, count: tail))
                VectorMath.store(value, dx + i, count: tail)
            }
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
