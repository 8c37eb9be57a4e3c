import PruneTensor
import Testing

/// 16-bit weights are widened inside the ops that read them; widening is exact, so every result equals the
/// float32 path on the same rounded weights.
@Suite struct HalfPrecisionWeightTests {
    /// Largest `|a − b|` over `max|b|`.
    static func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        let (x, y) = (a.scalars(), b.scalars())
        let scale = max(y.reduce(Float(0)) { max($0, abs($1)) }, 1e-30)
        return zip(x, y).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) } / scale
    }

    /// `weight` stored as `dtype`, and the same rounded values in float32.
    static func rounded(_ weight: Tensor, _ dtype: DType) -> (stored: Tensor, float32: Tensor) {
        let stored = weight.converted(to: dtype)
        return (stored, stored.converted(to: .float32))
    }

    @Test("linear with a float16 or bfloat16 weight of several panels matches float32 on the rounded weight, forward and input gradient",
          arguments: [DType.float16, .bfloat16])
    func linearMatchesRoundedFloat32(dtype: DType) {
        // 600 × 2000 = 1.2 M elements: two row panels of at most 2^20 elements.
        let (stored, float32) = Self.rounded(Tensor.randomNormal([600, 2000], standardDeviation: 0.02, seed: 1), dtype)
        #expect(stored.dtype == dtype)
        let bias = Tensor.randomNormal([600], seed: 2)
        let seed = Tensor.randomNormal([2, 3, 600], seed: 4)
        func run(_ weight: Tensor) -> (output: Tensor, gradient: Tensor) {
            let x = Tensor.randomNormal([2, 3, 2000], seed: 3, requiresGradient: true)
            let output = withGradients { linear(x, weight: weight, bias: bias) }
            output.backward(seed: seed)
            return (output, x.gradient!)
        }
        let (half, full) = (run(stored), run(float32))
        #expect(Self.relativeError(half.output, full.output) <= 1e-6)
        #expect(Self.relativeError(half.gradient, full.gradient) <= 1e-6)
        #expect(stored.dtype == dtype, "the weight itself is never widened")
    }

    @Test("conv2d with a float16 kernel matches float32 on the rounded kernel, forward and input gradient")
    func conv2dMatchesRoundedFloat32() {
        let (stored, float32) = Self.rounded(Tensor.randomNormal([6, 4, 3, 3], standardDeviation: 0.2, seed: 5), .float16)
        let seed = Tensor.randomNormal([2, 6, 5, 5], seed: 7)
        func run(_ weight: Tensor) -> (output: Tensor, gradient: Tensor) {
            let x = Tensor.randomNormal([2, 4, 9, 9], seed: 6, requiresGradient: true)
            let output = withGradients { conv2d(x, weight: weight, stride: (2, 2), padding: (1, 1)) }
            output.backward(seed: seed)
            return (output, x.gradient!)
        }
        let (half, full) = (run(stored), run(float32))
        #expect(Self.relativeError(half.output, full.output) <= 1e-6)
        #expect(Self.relativeError(half.gradient, full.gradient) <= 1e-6)
    }

    @Test("matmul and indexSelect read bfloat16 operands and strided bfloat16 views as their widened values")
    func stridedViewsWiden() {
        let (stored, float32) = Self.rounded(Tensor.randomNormal([5, 7], seed: 8), .bfloat16)
        let x = Tensor.randomNormal([3, 7], seed: 9)
        #expect(matmul(x, stored.transposed(0, 1)).scalars() == matmul(x, float32.transposed(0, 1)).scalars())
        #expect(stored.transposed(0, 1).indexSelect(axis: 0, indices: [6, 0]).scalars()
            == float32.transposed(0, 1).indexSelect(axis: 0, indices: [6, 0]).scalars())
        let gathered = stored.transposed(0, 1).converted(to: .bfloat16)
        #expect(gathered.dtype == .bfloat16 && gathered.isContiguous && gathered.shape == [7, 5])
        #expect(gathered.scalars() == float32.transposed(0, 1).scalars())
    }

    @Test("widenInPlace turns a 16-bit tensor into float32 with the same values and keeps the object")
    func widenInPlaceKeepsIdentity() {
        let (stored, float32) = Self.rounded(Tensor.randomNormal([4, 3], seed: 10), .float16)
        let identity = ObjectIdentifier(stored)
        stored.widenInPlace()
        #expect(ObjectIdentifier(stored) == identity)
        #expect(stored.dtype == .float32 && stored.scalars() == float32.scalars())
        #expect(stored.widenedToFloat32() === stored)
    }
}
