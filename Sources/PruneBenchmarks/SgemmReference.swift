import CBLAS
import Dispatch
import PruneTensor

/// One `cblas_sgemm` call shape, `C[m×n] = op(A)[m×k] · op(B)[k×n]`, repeated `repeats` times (for example
/// once per image or per attention head).
struct GemmShape: Sendable {
    let m, n, k: Int
    var transposeA = false
    var transposeB = false
    var repeats = 1

    /// Floating-point operations of all repeats (a multiply-add counts as two).
    var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(repeats) }
}

/// Runs `cblas_sgemm` row-major on existing buffers (no allocation, no copies).
func rawSgemm(
    _ shape: GemmShape, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>
) {
    let lda = shape.transposeA ? shape.m : shape.k
    let ldb = shape.transposeB ? shape.k : shape.n
    cblas_sgemm(
        CblasRowMajor, shape.transposeA ? CblasTrans : CblasNoTrans, shape.transposeB ? CblasTrans : CblasNoTrans,
        Int32(shape.m), Int32(shape.n), Int32(shape.k), 1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(shape.n))
}

/// Raw OpenBLAS on a list of GEMM shapes, the yardstick an engine op is compared with: owns randomly
/// filled buffers for every shape and runs them all back to back.
final class SgemmReference {
    let shapes: [GemmShape]
    private let buffers: [(a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>)]

    init(_ shapes: [GemmShape]) {
        self.shapes = shapes
        buffers = shapes.map { shape in
            (
                a: SgemmReference.filledBuffer(shape.m * shape.k), b: SgemmReference.filledBuffer(shape.k * shape.n),
                c: SgemmReference.filledBuffer(shape.m * shape.n)
            )
        }
    }

    deinit {
        for buffer in buffers {
            buffer.a.deallocate()
            buffer.b.deallocate()
            buffer.c.deallocate()
        }
    }

    /// Floating-point operations of one ``run()``.
    var flops: Double { shapes.reduce(0) { $0 + $1.flops } }

    /// Every shape, each `repeats` times.
    func run() {
        for (shape, buffer) in zip(shapes, buffers) {
            for _ in 0..<shape.repeats { rawSgemm(shape, buffer.a, buffer.b, buffer.c) }
        }
    }

    /// A buffer of `count` small pseudo-random floats (denormal-free, so timing is data-independent).
    private static func filledBuffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        var state: UInt32 = 0x9E37_79B9
        for i in 0..<count {
            state = state &* 1_664_525 &+ 1_013_904_223
            buffer[i] = Float(state >> 8) / Float(1 << 24) - 0.5
        }
        return buffer
    }
}

extension SgemmReference {
    /// Runs GEMMs and parallel element-wise work for about `seconds` so that the first measured case does
    /// not pay one-time costs: OpenBLAS's thread start-up and buffer allocation, the first page faults of
    /// the heap, and the CPU's clock ramping up from idle.
    static func warmUpMachine(seconds: Double) {
        let reference = SgemmReference([GemmShape(m: 1024, n: 1024, k: 1024)])
        let start = DispatchTime.now().uptimeNanoseconds
        repeat {
            reference.run()
            keepAlive(withoutGradients { Tensor.ones([1 << 20]) + Tensor.ones([1 << 20]) })
        } while Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < seconds
    }
}
