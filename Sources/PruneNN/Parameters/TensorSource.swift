import PruneTensor

/// Where a model's weights come from: a checkpoint (one or several safetensors files) or an in-memory
/// dictionary. Keys are checkpoint keys in diffusers naming.
public protocol TensorSource {
    /// Every key the source holds.
    var keys: [String] { get }
    /// The shape stored under `key`, without loading it.
    func shape(of key: String) -> [Int]?
    /// The tensor stored under `key`, as float32.
    /// - Throws: when the key is absent or its bytes cannot be read.
    func tensor(_ key: String) throws -> Tensor
    /// The tensor stored under `key` in its stored element type when that is `float32`, `float16` or
    /// `bfloat16` (other types are converted to `float32`), zero-copy where the source allows.
    ///
    /// For models that keep 16-bit weights resident and widen each one where it is computed (the text
    /// encoders). The default implementation returns ``tensor(_:)``, i.e. `float32`.
    /// - Throws: when the key is absent or its bytes cannot be read.
    func storedTensor(_ key: String) throws -> Tensor
}

extension TensorSource {
    public func storedTensor(_ key: String) throws -> Tensor { try tensor(key) }
}

/// An in-memory ``TensorSource``.
public struct DictionaryTensorSource: TensorSource {
    public let tensors: [String: Tensor]
    public init(_ tensors: [String: Tensor]) { self.tensors = tensors }
    public var keys: [String] { tensors.keys.sorted() }
    public func shape(of key: String) -> [Int]? { tensors[key]?.shape }
    public func tensor(_ key: String) throws -> Tensor {
        guard let tensor = tensors[key] else { throw CheckpointError.missingKeys([key], source: "in-memory tensors") }
        return tensor
    }
}
