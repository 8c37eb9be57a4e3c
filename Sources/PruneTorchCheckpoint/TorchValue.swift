import Foundation

/// What a `torch.save` file holds, as far as this reader accepts: tensors and plain containers.
public indirect enum TorchValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([TorchValue])
    case list([TorchValue])
    /// A dict or `OrderedDict`, in insertion order; keys are strings or integers.
    case dict([TorchDictEntry])
    case tensor(TorchTensor)

    /// The elements of a list or tuple.
    public var sequence: [TorchValue]? {
        switch self {
        case .list(let items), .tuple(let items): items
        default: nil
        }
    }

    /// A short name of the value's type (`list`, `tensor`, …), for messages.
    public var typeName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .tensor: "tensor"
        }
    }
}

/// One entry of a ``TorchValue/dict(_:)``.
public struct TorchDictEntry: Sendable, Equatable {
    public var key: TorchValue
    public var value: TorchValue
}

extension TorchValue {
    /// Converts the unpickler's result, which may share (or, in a hostile stream, cycle through) lists and
    /// dicts, into a value tree: at most `depth` levels deep and `budget` nodes in all.
    static func converting(
        _ value: PickleValue, path: String, depth: Int = 100, budget: Int
    ) throws(TorchCheckpointError) -> TorchValue {
        var remaining = budget
        return try convert(value, path: path, depth: depth, remaining: &remaining)
    }

    private static func convert(
        _ value: PickleValue, path: String, depth: Int, remaining: inout Int
    ) throws(TorchCheckpointError) -> TorchValue {
        guard depth > 0 else {
            throw TorchCheckpointError(path: path, .limitExceeded(reason: "containers nest more than 100 deep (or refer to themselves)"))
        }
        remaining -= 1
        guard remaining >= 0 else {
            throw TorchCheckpointError(path: path, .limitExceeded(reason: "the pickle expands to more values than it has bytes (shared containers nested too often)"))
        }
        func items(_ values: [PickleValue], remaining: inout Int) throws(TorchCheckpointError) -> [TorchValue] {
            var result: [TorchValue] = []
            result.reserveCapacity(values.count)
            for item in values { result.append(try convert(item, path: path, depth: depth - 1, remaining: &remaining)) }
            return result
        }
        switch value {
        case .none: return .none
        case .bool(let bool): return .bool(bool)
        case .int(let int): return .int(int)
        case .bigInt: throw TorchCheckpointError(path: path, .badTensor(reason: "an integer wider than 64 bits"))
        case .float(let double): return .float(double)
        case .string(let string): return .string(string)
        case .bytes(let data): return .bytes(data)
        case .tuple(let values): return .tuple(try items(values, remaining: &remaining))
        case .list(let list): return .list(try items(list.items, remaining: &remaining))
        case .dict(let dict):
            var entries: [TorchDictEntry] = []
            for entry in dict.entries {
                let key = try convert(entry.key, path: path, depth: depth - 1, remaining: &remaining)
                entries.append(TorchDictEntry(key: key, value: try convert(entry.value, path: path, depth: depth - 1, remaining: &remaining)))
            }
            return .dict(entries)
        case .tensor(let tensor): return .tensor(tensor)
        case .storage(let storage):
            throw TorchCheckpointError(path: path, .badTensor(reason: "the file holds a bare storage (\(storage.key)), not a tensor"))
        case .global(let global):
            throw TorchCheckpointError(path: path, .badTensor(reason: "the file holds the uncalled global \(global.qualifiedName), not data"))
        }
    }
}
