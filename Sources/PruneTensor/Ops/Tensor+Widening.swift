// Widening of tensors stored as float16, bfloat16 or float64 to the float32 that kernels compute in.
//
// Frozen weights stay in their checkpoint's element type while a model is resident; every op that reads
// them (`linear`, `conv2d`, `matmul`, `indexSelect`, …) widens through `contiguousWithoutRecording()` for
// the length of one call. Widening float16/bfloat16 is exact, so the results equal the float32 path on the
// same (rounded) weights.

extension Tensor {
    /// This tensor as `float32`: itself when it already is, otherwise a fresh contiguous copy of the same
    /// shape, widened exactly (`float64` rounds to nearest). Not recorded.
    public func widenedToFloat32() -> Tensor {
        dtype == .float32 ? self : Kernels.widened(self)
    }

    /// Replaces a `float16`, `bfloat16` or `float64` tensor's elements by a contiguous `float32` copy, keeping the
    /// tensor object — so the layers, LoRA adapters and optimizer groups that hold it see `float32` from now on.
    /// Does nothing to a `float32` tensor.
    ///
    /// For weights that are about to be updated in place (full fine-tuning, merging LoRA); call it before
    /// anything runs concurrently with the tensor. Views taken earlier keep the old storage.
    public func widenInPlace() {
        guard dtype != .float32 else { return }
        let widened = Kernels.widened(self)
        storage = widened.storage
        layout = widened.layout
    }
}

extension Kernels {
    /// Row panels of 16-bit weights are widened this many `float32` elements at a time (4 MiB).
    static let widenedPanelElements = 1 << 20

    /// A contiguous `float32` copy of `tensor` (any dtype, any strides), widened exactly.
    static func widened(_ tensor: Tensor) -> Tensor {
        let result = uninitializedOutput(tensor.shape)
        let target = result.basePointer
        if tensor.isContiguous {
            widen(tensor, elements: 0..<tensor.count, into: target)
            return result
        }
        let loop = StridedLoop(shape: tensor.shape, strides: [tensor.layout.strides])
        let (inner, step) = (loop.innerCount, loop.innerStrides[0])
        let read = elementReader(tensor.storage)
        ComputeThreads.parallelFor(loop.rowCount, grain: loop.rowGrain) { rows in
            for row in rows {
                let start = tensor.layout.offset + loop.offset(row: row, operand: 0)
                let line = target + row * inner
                for i in 0..<inner { line[i] = read(start + i * step) }
            }
        }
        return result
    }

    /// Widens the elements `elements` of the contiguous `tensor` (counted from its first element) into `target`.
    static func widen(_ tensor: Tensor, elements: Range<Int>, into target: UnsafeMutablePointer<Float>) {
        precondition(tensor.isContiguous && elements.upperBound <= tensor.count, "widening outside a contiguous tensor")
        let first = tensor.layout.offset + elements.lowerBound
        let bytes = tensor.storage.bytes
        switch tensor.dtype {
        case .float32:
            target.update(from: bytes.assumingMemoryBound(to: Float.self) + first, count: elements.count)
        case .float16:
            let source = bytes.assumingMemoryBound(to: UInt16.self) + first
            ComputeThreads.parallelFor(elements.count, grain: 1 << 16) { range in
                for i in range { target[i] = HalfPrecision.float(fromFloat16: source[i]) }
            }
        case .bfloat16:
            let source = bytes.assumingMemoryBound(to: UInt16.self) + first
            ComputeThreads.parallelFor(elements.count, grain: 1 << 16) { range in
                for i in range { target[i] = HalfPrecision.float(fromBFloat16: source[i]) }
            }
        case .float64:
            let source = bytes.assumingMemoryBound(to: Double.self) + first
            for i in 0..<elements.count { target[i] = Float(source[i]) }
        }
    }

    /// Reads element `index` of `storage` as `Float`.
    private static func elementReader(_ storage: Storage) -> (Int) -> Float {
        let bytes = storage.bytes
        switch storage.dtype {
        case .float32: return { bytes.assumingMemoryBound(to: Float.self)[$0] }
        case .float16: return { HalfPrecision.float(fromFloat16: bytes.assumingMemoryBound(to: UInt16.self)[$0]) }
        case .bfloat16: return { HalfPrecision.float(fromBFloat16: bytes.assumingMemoryBound(to: UInt16.self)[$0]) }
        case .float64: return { Float(bytes.assumingMemoryBound(to: Double.self)[$0]) }
        }
    }

    /// Calls `body` for consecutive row panels of the contiguous 16-bit matrix `weight` `[rows, columns]`, each
    /// widened into a `float32` buffer `[panel.count, columns]` that is valid only during the call. Peak extra
    /// memory is one panel (≤ ``widenedPanelElements`` elements, at least one row), not the whole weight.
    static func forEachWidenedPanel(
        of weight: Tensor, _ body: (_ panel: UnsafeMutablePointer<Float>, _ rows: Range<Int>) -> Void
    ) {
        precondition(weight.rank == 2 && weight.isContiguous, "panels are rows of a contiguous matrix")
        let (rows, columns) = (weight.shape[0], weight.shape[1])
        let panelRows = Swift.min(rows, Swift.max(1, widenedPanelElements / Swift.max(columns, 1)))
        ScratchBuffer.withFloats(panelRows * columns) { buffer in
            for start in stride(from: 0, to: rows, by: panelRows) {
                let panel = start..<Swift.min(rows, start + panelRows)
                widen(weight, elements: (panel.lowerBound * columns)..<(panel.upperBound * columns), into: buffer)
                body(buffer, panel)
            }
        }
    }
}
