/// Shape, element strides and starting offset of a tensor view over a ``Storage``.
///
/// Views (reshape of a contiguous tensor, permute, slice) change only the layout; the storage is shared.
public struct Layout: Sendable, Equatable, CustomStringConvertible {
    /// Extent of each axis.
    public var shape: [Int]
    /// Distance in elements between neighbours along each axis.
    public var strides: [Int]
    /// Index of the first element in the storage.
    public var offset: Int

    /// A row-major contiguous layout of `shape` starting at `offset`.
    public init(contiguous shape: [Int], offset: Int = 0) {
        self.shape = shape
        self.strides = Layout.rowMajorStrides(shape)
        self.offset = offset
    }

    public init(shape: [Int], strides: [Int], offset: Int) {
        precondition(shape.count == strides.count, "shape \(shape) and strides \(strides) differ in rank")
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// Number of axes.
    public var rank: Int { shape.count }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// True when the elements are laid out row-major without gaps (size-1 axes may have any stride).
    public var isContiguous: Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    public var description: String { "Layout(shape: \(shape), strides: \(strides), offset: \(offset))" }

    /// Row-major strides of `shape`.
    public static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Strides of this layout when broadcast to `target` (0 along broadcast axes).
    ///
    /// The shapes are aligned at the trailing axis, as in NumPy.
    public func broadcastStrides(to target: [Int]) -> [Int] {
        let lead = target.count - shape.count
        precondition(lead >= 0, "cannot broadcast \(shape) to \(target)")
        var result = [Int](repeating: 0, count: target.count)
        for axis in 0..<shape.count {
            let extent = shape[axis]
            precondition(
                extent == target[lead + axis] || extent == 1, "cannot broadcast \(shape) to \(target)")
            result[lead + axis] = extent == 1 ? 0 : strides[axis]
        }
        return result
    }
}

/// The NumPy broadcast of two shapes.
public func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int] {
    let rank = max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        precondition(x == y || x == 1 || y == 1, "shapes \(a) and \(b) do not broadcast")
        result[i] = x == 1 ? y : x
    }
    return result
}
