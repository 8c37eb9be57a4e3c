/// One safetensors entry as stored: its dtype, shape and bytes (row-major, little-endian), never converted.
///
/// Used where tensors must pass through PruneKit byte for byte — a LoRA file's untouched entries keep their
/// float16 / bfloat16 / float32 bits, and sliced ones keep their type (``selecting(_:axis:)`` moves whole
/// elements, it never computes with them).
///
/// ```swift
/// let up = try file.storedTensor("lora_unet_x.lora_up.weight")   // F16 [320, 8]
/// let kept = up.selecting([0, 1, 5], axis: 0)                      // F16 [3, 8], the same bits
/// try SafetensorsWriter.write(stored: ["lora_unet_x.lora_up.weight": kept], to: "out.safetensors")
/// ```
public struct StoredTensor: Sendable, Equatable {
    /// The element type as the file names it.
    public let dtype: SafetensorsDType
    /// Extent of each axis (`[]` for a scalar).
    public let shape: [Int]
    /// The elements' bytes.
    public let bytes: [UInt8]

    /// A stored tensor.
    /// - Precondition: `bytes.count` is what `shape` takes in `dtype`.
    public init(dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in \(shape)")
        if case .bytes(let expected) = dtype.storageSize(ofCount: shape.reduce(1, *)) {
            precondition(bytes.count == expected, "\(dtype) \(shape) takes \(expected) bytes, got \(bytes.count)")
        } else {
            preconditionFailure("\(dtype) \(shape) does not fill whole bytes")
        }
        self.init(unchecked: dtype, shape: shape, bytes: bytes)
    }

    /// A stored tensor whose byte count the caller has checked (the reader's header validation).
    init(unchecked dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Whether ``selecting(_:axis:)`` can move single elements: the dtype fills whole bytes (not `F4` / `F6_*`).
    public var isSliceable: Bool { dtype.bitSize % 8 == 0 }

    /// The entries at `indices` along `axis`, in the order given, every element copied bit for bit.
    ///
    /// - Parameters:
    ///   - indices: positions along `axis`, each in `0..<shape[axis]` (repeats allowed, empty allowed).
    ///   - axis: an axis of ``shape``.
    /// - Returns: the same dtype, with `shape[axis] = indices.count`.
    /// - Precondition: ``isSliceable``, `axis` in range, every index in range.
    public func selecting(_ indices: [Int], axis: Int) -> StoredTensor {
        precondition(isSliceable, "\(dtype) elements are packed below a byte and cannot be selected one by one")
        precondition(axis >= 0 && axis < shape.count, "axis \(axis) out of range for shape \(shape)")
        let extent = shape[axis]
        precondition(indices.allSatisfy { $0 >= 0 && $0 < extent }, "index out of 0..<\(extent)")
        let element = dtype.bitSize / 8
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *) * element
        var result = [UInt8]()
        result.reserveCapacity(outer * indices.count * inner)
        for block in 0..<outer {
            let base = block * extent * inner
            for index in indices {
                let start = base + index * inner
                result.append(contentsOf: bytes[start..<(start + inner)])
            }
        }
        var newShape = shape
        newShape[axis] = indices.count
        return StoredTensor(unchecked: dtype, shape: newShape, bytes: result)
    }
}

extension SafetensorsWriter {
    /// Writes `tensors` exactly as given — each in its own dtype, bytes unchanged — to `path`, atomically
    /// (see ``write(_:metadata:to:dtype:)-(_,_,String,_)``): the header lists the keys sorted, `__metadata__`
    /// first when `metadata` is not empty.
    ///
    /// - Throws: ``SafetensorsError/invalidTensorName(path:key:reason:)`` for the reserved name `__metadata__`,
    ///   ``SafetensorsError/io(path:operation:reason:)`` when the file cannot be written.
    public static func write(stored tensors: [String: StoredTensor], metadata: [String: String] = [:], to path: String) throws(SafetensorsError) {
        let keys = tensors.keys.sorted()
        if keys.contains("__metadata__") {
            throw .invalidTensorName(path: path, key: "__metadata__", reason: "the name is reserved for the metadata entry")
        }
        let header = makeHeader(
            entries: keys.map { key in
                let tensor = tensors[key]!
                return (key, tensor.dtype.name, tensor.shape, tensor.bytes.count)
            }, metadata: metadata)
        try writeAtomically(to: path, header: header) { (output) throws(SafetensorsError) in
            for key in keys {
                try tensors[key]!.bytes.withUnsafeBytes { raw in Result { () throws(SafetensorsError) in try output.append(raw) } }.get()
            }
        }
    }
}
