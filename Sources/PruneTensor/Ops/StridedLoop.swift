/// An iteration plan over a shape for several strided operands: axes of extent 1 are dropped and
/// neighbouring axes that are contiguous for every operand are merged, leaving rows of `innerCount`
/// elements that kernels process with a tight inner loop.
struct StridedLoop {
    /// Extents of the outer (row-indexing) axes, after merging.
    let outerShape: [Int]
    /// Per operand: strides of the outer axes.
    let outerStrides: [[Int]]
    /// Per operand: the stride of the inner axis.
    let innerStrides: [Int]
    /// Elements per row.
    let innerCount: Int
    /// Number of rows.
    let rowCount: Int

    init(shape: [Int], strides operandStrides: [[Int]]) {
        var dims: [Int] = []
        var strides: [[Int]] = Array(repeating: [], count: operandStrides.count)
        for axis in shape.indices where shape[axis] != 1 {
            if let last = dims.last,
                operandStrides.indices.allSatisfy({ strides[$0].last! == operandStrides[$0][axis] * shape[axis] })
            {
                dims[dims.count - 1] = last * shape[axis]
                for o in operandStrides.indices { strides[o][strides[o].count - 1] = operandStrides[o][axis] }
            } else {
                dims.append(shape[axis])
                for o in operandStrides.indices { strides[o].append(operandStrides[o][axis]) }
            }
        }
        if dims.isEmpty {
            dims = [1]
            strides = strides.map { _ in [0] }
        }
        innerCount = dims.removeLast()
        innerStrides = strides.map { $0.last! }
        outerStrides = strides.map { Array($0.dropLast()) }
        outerShape = dims
        rowCount = dims.reduce(1, *)
    }

    /// Element offset of the first element of `row` for `operand`.
    @inline(__always)
    func offset(row: Int, operand: Int) -> Int {
        var remaining = row
        var result = 0
        let strides = outerStrides[operand]
        var axis = outerShape.count - 1
        while axis >= 0 {
            let extent = outerShape[axis]
            result += (remaining % extent) * strides[axis]
            remaining /= extent
            axis -= 1
        }
        return result
    }

    /// Grain (in rows) so that each parallel chunk has enough elements.
    var rowGrain: Int { max(1, 16_384 / max(innerCount, 1)) }
}

extension Tensor {
    /// A contiguous copy in fresh storage, never recorded.
    func ownedCopy() -> Tensor {
        let result = Tensor(storage: Storage(uninitializedCount: count), shape: shape)
        Kernels.copy(from: self, into: result.basePointer)
        return result
    }

    /// A contiguous `float32` tensor with these elements (`self` when already contiguous `float32`), never
    /// recorded. Kernels read their operands through it, so 16-bit (and `float64`) operands — weights kept in
    /// their checkpoint's type — are widened for the one call and released when it returns.
    func contiguousWithoutRecording() -> Tensor {
        if dtype != .float32 { return Kernels.widened(self) }
        if isContiguous { return self }
        let result = Kernels.uninitializedOutput(shape)
        Kernels.copy(from: self, into: result.basePointer)
        return result
    }
}

/// Raw kernels over float32 buffers. They never record ops.
enum Kernels {
    /// Copies the view `source` into the row-major buffer `destination`.
    static func copy(from source: Tensor, into destination: UnsafeMutablePointer<Float>) {
        let base = source.basePointer
        if source.isContiguous {
            destination.update(from: base, count: source.count)
            return
        }
        let loop = StridedLoop(shape: source.shape, strides: [source.layout.strides])
        let inner = loop.innerCount
        let step = loop.innerStrides[0]
        ComputeThreads.parallelFor(loop.rowCount, grain: loop.rowGrain) { rows in
            for row in rows {
                let input = base + loop.offset(row: row, operand: 0)
                let output = destination + row * inner
                if step == 1 {
                    output.update(from: input, count: inner)
                } else {
                    for j in 0..<inner { output[j] = input[j * step] }
                }
            }
        }
    }
}
