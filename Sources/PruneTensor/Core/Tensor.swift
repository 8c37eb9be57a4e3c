/// An n-dimensional array computed in `float32`: a ``Layout`` over a shared ``Storage``, plus what reverse-mode
/// autodiff needs — whether it requires a gradient, the ``Op`` that produced it, and its accumulated
/// ``gradient`` when it is a leaf.
///
/// Tensors are reference types: a view and its base share storage, and identity is the object itself.
/// Ops are recorded only when gradient recording is on (see ``withoutGradients(_:)``) and at least one
/// input requires a gradient; otherwise a result keeps no reference to its inputs.
///
/// ```swift
/// let w = Tensor.randomNormal([4, 3], seed: 0, requiresGradient: true)
/// let loss = (matmul(x, w) * 2).sum()
/// loss.backward()
/// print(w.gradient!.shape)   // [4, 3]
/// ```
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    /// The elements. Replaced only by ``widenInPlace()``.
    public internal(set) var storage: Storage
    /// How the elements of ``storage`` map onto this view. Replaced only by ``widenInPlace()``.
    public internal(set) var layout: Layout
    /// Whether gradients flow to (leaf) or through (recorded result) this tensor.
    public var requiresGradient: Bool
    /// The operation that produced this tensor, when it was recorded; cleared by ``backward(seed:retainGraph:)``.
    public internal(set) var op: Op?
    /// The gradient accumulated by ``backward(seed:retainGraph:)`` when this is a leaf that requires one.
    public var gradient: Tensor?

    /// Wraps `storage` with `layout`.
    public init(storage: Storage, layout: Layout, requiresGradient: Bool = false) {
        self.storage = storage
        self.layout = layout
        self.requiresGradient = requiresGradient
    }

    /// A contiguous tensor of `shape` over `storage`.
    public convenience init(storage: Storage, shape: [Int], requiresGradient: Bool = false) {
        precondition(storage.count >= shape.reduce(1, *), "storage too small for shape \(shape)")
        self.init(storage: storage, layout: Layout(contiguous: shape), requiresGradient: requiresGradient)
    }

    /// A tensor holding `values` in row-major order.
    public convenience init(_ values: [Float], shape: [Int], requiresGradient: Bool = false) {
        precondition(
            values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        let storage = Storage(uninitializedCount: values.count)
        values.withUnsafeBufferPointer { storage.floats.update(from: $0.baseAddress!, count: values.count) }
        self.init(storage: storage, shape: shape, requiresGradient: requiresGradient)
    }

    /// A rank-0 tensor.
    public convenience init(scalar: Float, requiresGradient: Bool = false) {
        self.init([scalar], shape: [], requiresGradient: requiresGradient)
    }

    /// Extent of each axis.
    public var shape: [Int] { layout.shape }
    /// Number of axes.
    public var rank: Int { layout.rank }
    /// Number of elements.
    public var count: Int { layout.count }
    /// The storage's element type.
    public var dtype: DType { storage.dtype }
    /// True when this tensor was not produced by a recorded op.
    public var isLeaf: Bool { op == nil }
    /// True when the view covers its elements row-major without gaps.
    public var isContiguous: Bool { layout.isContiguous }

    /// The extent of `axis`; negative axes count from the end.
    public func size(_ axis: Int) -> Int { shape[normalizedAxis(axis)] }

    /// Maps a possibly negative axis into `0..<rank`.
    public func normalizedAxis(_ axis: Int) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        precondition(resolved >= 0 && resolved < Swift.max(rank, 1), "axis \(axis) out of range for rank \(rank)")
        return resolved
    }

    /// Pointer to the first element of the view (float32 storage only).
    @inlinable
    public var basePointer: UnsafeMutablePointer<Float> { storage.floats + layout.offset }

    /// The elements in row-major order.
    public func scalars() -> [Float] {
        if dtype != .float32 { return converted(to: .float32).scalars() }
        let source = contiguousWithoutRecording()
        return withExtendedLifetime(source) { Array(UnsafeBufferPointer(start: source.basePointer, count: count)) }
    }

    /// The single element of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item() needs exactly one element, shape is \(shape)")
        return scalars()[0]
    }

    /// A detached tensor sharing storage: never requires a gradient and has no op.
    public func detached() -> Tensor { Tensor(storage: storage, layout: layout) }

    /// A contiguous copy in another dtype (a plain contiguous copy for the same dtype). Not recorded.
    public func converted(to target: DType) -> Tensor {
        if isContiguous {
            return Tensor(
                storage: storage.converted(to: target, offset: layout.offset, count: count), shape: shape)
        }
        // A strided view (of any dtype) is gathered into float32 first; widening is exact.
        return Kernels.widened(self).converted(to: target)
    }

    /// Clears the accumulated gradient.
    public func zeroGradient() { gradient = nil }

    public var description: String {
        let preview = count <= 8 ? "\(scalars())" : "\(Array(scalars().prefix(8)))…"
        return "Tensor(shape: \(shape), \(preview)\(requiresGradient ? ", requiresGradient" : ""))"
    }
}

// MARK: - Creation

extension Tensor {
    /// Zeros of `shape`.
    public static func zeros(_ shape: [Int], requiresGradient: Bool = false) -> Tensor {
        Tensor(storage: Storage(zeroedCount: shape.reduce(1, *)), shape: shape, requiresGradient: requiresGradient)
    }

    /// `value` repeated over `shape`.
    public static func full(_ shape: [Int], value: Float, requiresGradient: Bool = false) -> Tensor {
        let storage = Storage(uninitializedCount: shape.reduce(1, *))
        storage.floats.update(repeating: value, count: storage.count)
        return Tensor(storage: storage, shape: shape, requiresGradient: requiresGradient)
    }

    /// Ones of `shape`.
    public static func ones(_ shape: [Int], requiresGradient: Bool = false) -> Tensor {
        full(shape, value: 1, requiresGradient: requiresGradient)
    }

    /// Uniform values in `[low, high)` drawn from `generator`.
    public static func randomUniform(
        _ shape: [Int], low: Float = 0, high: Float = 1, using generator: inout SeededGenerator,
        requiresGradient: Bool = false
    ) -> Tensor {
        let storage = Storage(uninitializedCount: shape.reduce(1, *))
        for i in 0..<storage.count { storage.floats[i] = low + (high - low) * generator.nextUniform() }
        return Tensor(storage: storage, shape: shape, requiresGradient: requiresGradient)
    }

    /// Normal values with `mean` and `standardDeviation` drawn from `generator`.
    public static func randomNormal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
        using generator: inout SeededGenerator, requiresGradient: Bool = false
    ) -> Tensor {
        let storage = Storage(uninitializedCount: shape.reduce(1, *))
        for i in 0..<storage.count {
            storage.floats[i] = mean + standardDeviation * generator.nextNormal()
        }
        return Tensor(storage: storage, shape: shape, requiresGradient: requiresGradient)
    }

    /// Uniform values in `[low, high)` from a fresh generator seeded with `seed`.
    public static func randomUniform(
        _ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64, requiresGradient: Bool = false
    ) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return randomUniform(shape, low: low, high: high, using: &generator, requiresGradient: requiresGradient)
    }

    /// Standard-normal values from a fresh generator seeded with `seed`.
    public static func randomNormal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, seed: UInt64,
        requiresGradient: Bool = false
    ) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return randomNormal(
            shape, mean: mean, standardDeviation: standardDeviation, using: &generator,
            requiresGradient: requiresGradient)
    }
}

// MARK: - In-place updates (optimizers, never recorded)

extension Tensor {
    /// Overwrites this tensor's elements with `source`'s (same shape). Not recorded; for optimizers and loading.
    public func assign(_ source: Tensor) {
        precondition(source.shape == shape, "assign: shape \(source.shape) into \(shape)")
        precondition(isContiguous, "assign needs a contiguous destination")
        let values = source.contiguousWithoutRecording()
        withExtendedLifetime(values) { basePointer.update(from: values.basePointer, count: count) }
    }
}
