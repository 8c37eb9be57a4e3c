import Foundation

/// A list under construction: `APPEND`/`APPENDS` extend the object a memo entry may also refer to, so
/// lists are references while unpickling (and converted to values once the stream ends).
final class PickleList {
    var items: [PickleValue] = []
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// A dict under construction (insertion-ordered, as Python's), keyed by strings or integers.
final class PickleDict {
    enum Key: Hashable {
        case string(String)
        case int(Int)
    }
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var index: [Key: Int] = [:]

    func removeAll() {
        entries = []
        index = [:]
    }

    /// Sets `key` to `value` (replacing an earlier value, keeping its position), or returns `false` for a
    /// key type a checkpoint never uses.
    func set(_ key: PickleValue, _ value: PickleValue) -> Bool {
        let hashable: Key
        switch key {
        case .string(let string): hashable = .string(string)
        case .int(let int): hashable = .int(int)
        case .bool(let bool): hashable = .int(bool ? 1 : 0)
        default: return false
        }
        if let existing = index[hashable] {
            entries[existing].value = value
        } else {
            index[hashable] = entries.count
            entries.append((key, value))
        }
        return true
    }
}

/// Every list and dict one unpickling created. A hostile stream can make them refer to each other in a cycle
/// (`l.append(l)`), which reference counting never frees; ``clear()`` empties them all once the result has been
/// converted (or the stream refused), breaking every cycle.
final class PickleArena {
    private var lists: [PickleList] = []
    private var dicts: [PickleDict] = []

    func register(_ list: PickleList) -> PickleList {
        lists.append(list)
        return list
    }

    func register(_ dict: PickleDict) -> PickleDict {
        dicts.append(dict)
        return dict
    }

    func clear() {
        for list in lists { list.items = [] }
        for dict in dicts { dict.removeAll() }
        lists = []
        dicts = []
    }
}

/// The globals the restricted unpickler resolves; every other `module.name` is refused.
enum AllowedGlobal: Equatable {
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    case rebuildTensorV2
    /// `torch._utils._rebuild_parameter(data, requires_grad, backward_hooks)`.
    case rebuildParameter
    /// `collections.OrderedDict()` (filled by `SETITEMS`).
    case orderedDict
    /// `torch.Size(tuple)`.
    case torchSize
    /// `torch.<Type>Storage` / `torch.UntypedStorage`, only as an argument of a persistent id.
    case storageType(TorchDType, name: String)

    /// Resolves `module.name`, or `nil` when it is not allowed.
    static func resolve(module: String, name: String) -> AllowedGlobal? {
        switch (module, name) {
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch", "Size"): return .torchSize
        case ("torch", _): return TorchDType.storageClass(name).map { .storageType($0, name: name) }
        case ("torch.storage", "UntypedStorage"): return .storageType(.uint8, name: name)
        default: return nil
        }
    }

    var qualifiedName: String {
        switch self {
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .orderedDict: "collections.OrderedDict"
        case .torchSize: "torch.Size"
        case .storageType(_, let name): "torch.\(name)"
        }
    }
}

/// A value on the unpickler's stack.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits: its little-endian two's-complement bytes (the legacy magic number).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case global(AllowedGlobal)
    case storage(TorchStorage)
    case tensor(TorchTensor)

    /// A short description of the value's type, for messages.
    var typeName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .global(let global): global.qualifiedName
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }
}
