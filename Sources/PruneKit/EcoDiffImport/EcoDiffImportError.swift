import PruneTorchCheckpoint

/// Why EcoDiff λ files cannot be turned into masks for a model: each case names the file, the λ entry
/// (its index in the file's list) and, where one is involved, the module and what was expected.
public enum EcoDiffImportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file cannot be read as a PyTorch checkpoint (or holds something other than tensors).
    case checkpoint(TorchCheckpointError)
    /// The checkpoint is not a list (or tuple) of tensors.
    case notAList(path: String, found: String)
    /// Entry `index` is not a tensor.
    case notATensor(path: String, index: Int, found: String)
    /// Entry `index` is not floating point.
    case notFloatingPoint(path: String, index: Int, dtype: String)
    /// Entry `index` is not one-dimensional.
    case notAVector(path: String, index: Int, shape: [Int])
    /// Entry `index` holds a NaN or infinity at `unit`.
    case nonFinite(path: String, index: Int, unit: Int)
    /// The file has `found` λ vectors; the model has `expected` modules of `kind`.
    case moduleCount(path: String, kind: String, found: Int, expected: Int)
    /// Entry `index` has `found` values; the module it belongs to has `expected` units.
    case unitCount(path: String, index: Int, module: String, kind: String, found: Int, expected: Int)
    /// A kept ratio outside [0, 1].
    case badRatio(kind: String, value: Double)

    public var description: String {
        switch self {
        case .checkpoint(let error): error.description
        case .notAList(let path, let found): "\(path): expected a list of λ tensors (torch.save of a list), found a \(found)"
        case .notATensor(let path, let index, let found): "\(path): λ entry \(index) is a \(found), not a tensor"
        case .notFloatingPoint(let path, let index, let dtype): "\(path): λ entry \(index) is \(dtype), not a floating-point tensor"
        case .notAVector(let path, let index, let shape): "\(path): λ entry \(index) has shape \(shape), expected one dimension"
        case .nonFinite(let path, let index, let unit): "\(path): λ entry \(index) is not finite at unit \(unit)"
        case .moduleCount(let path, let kind, let found, let expected):
            "\(path): \(found) λ vectors, but the model has \(expected) \(kind) modules (EcoDiff saves one per module, in execution order)"
        case .unitCount(let path, let index, let module, let kind, let found, let expected):
            "\(path): λ entry \(index) has \(found) values, but \(module) has \(expected) \(kind)"
        case .badRatio(let kind, let value): "the kept ratio of \(kind) must be in [0, 1], got \(value)"
        }
    }
}
