import PruneTensor

/// Widening of resident 16-bit weights to `float32` at the point of use.
///
/// Text-encoder weights stay in the element type of their file (`float16`, `bfloat16` or `float32`) while the
/// model is resident; each layer widens the weight it is about to multiply by, and the widened copy is
/// released when the layer returns. So a model costs its file size plus one layer's largest weight in
/// `float32` (T5-XXL in bfloat16: 9.5 GB + 168 MB for `wi_0`), never twice its size. `float32` weights are used
/// as they are (a zero-copy view of the mapped file).
public enum Widening {
    /// `tensor` as a `float32` tensor of the same shape: itself when it already is `float32`, otherwise a fresh
    /// contiguous copy widened exactly (every `float16` and `bfloat16` value is a `float32` value).
    ///
    /// `tensor` must be contiguous unless it is `float32` (16-bit tensors come straight from files).
    public static func float32(_ tensor: Tensor) -> Tensor {
        precondition(tensor.dtype == .float32 || tensor.isContiguous, "16-bit weights are widened from contiguous storage")
        return tensor.widenedToFloat32()
    }

    /// Rows `indices` of a `[rows, width]` table in any stored type, widened into a `float32` `[indices.count, width]`
    /// tensor: an embedding lookup that never widens the whole table.
    public static func rows(_ table: Tensor, _ indices: [Int]) -> Tensor {
        precondition(table.rank == 2 && table.isContiguous, "an embedding table is a contiguous [rows, width] tensor")
        let (rowCount, width) = (table.shape[0], table.shape[1])
        precondition(indices.allSatisfy { (0..<rowCount).contains($0) }, "embedding index out of 0..<\(rowCount)")
        let result = Tensor.zeros([indices.count, width])
        let target = result.basePointer
        for (row, index) in indices.enumerated() {
            let destination = target + row * width
            let start = table.layout.offset + index * width
            switch table.dtype {
            case .float32:
                destination.update(from: table.storage.floats + start, count: width)
            case .float16:
                let source = table.storage.bytes.assumingMemoryBound(to: UInt16.self) + start
                for d in 0..<width { destination[d] = HalfPrecision.float(fromFloat16: source[d]) }
            case .bfloat16:
                let source = table.storage.bytes.assumingMemoryBound(to: UInt16.self) + start
                for d in 0..<width { destination[d] = HalfPrecision.float(fromBFloat16: source[d]) }
            case .float64:
                let source = table.storage.bytes.assumingMemoryBound(to: Double.self) + start
                for d in 0..<width { destination[d] = Float(source[d]) }
            }
        }
        return result
    }
}
