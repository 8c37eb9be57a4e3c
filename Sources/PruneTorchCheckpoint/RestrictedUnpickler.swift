import Foundation

/// A pickle reader that builds data and never runs code: it executes the opcodes `torch.save` writes
/// (protocol 2, plus the simple protocol 3–5 ones), resolves only the tensor-rebuild globals
/// (``AllowedGlobal``) and refuses every other global the moment the stream names it — `posix.system`,
/// `builtins.eval`, `subprocess.Popen` — with ``TorchCheckpointError/Problem/forbiddenGlobal(module:name:)``.
///
/// Opcodes that construct arbitrary objects (`BUILD`, `NEWOBJ`, `INST`, `OBJ`, `EXT*`) and the text-protocol
/// ones are refused as unsupported. Every read is bounds-checked, memo indices are checked, and the stack,
/// mark nesting and memo are capped (``Limits``), so a hostile stream ends in an error, never a trap or an
/// unbounded allocation.
struct RestrictedUnpickler {
    /// Caps that bound the work a hostile stream can cause.
    struct Limits {
        /// Values on the stack at once.
        var stackSize = 1 << 22
        /// Nested `MARK`s open at once.
        var markDepth = 1_000
        /// Memo entries.
        var memoSize = 1 << 22
        /// Bytes of one integer (`LONG1`/`LONG4`).
        var integerBytes = 64
    }

    /// The globals this unpickler accepts, for messages.
    static let allowedGlobalsSummary =
        "torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, collections.OrderedDict, torch.Size and torch.*Storage"

    /// Turns a persistent id (`BINPERSID`) into a value: the container resolves storages here.
    typealias PersistentLoad = (PickleValue, _ offset: Int) throws(TorchCheckpointError) -> PickleValue

    let bytes: [UInt8]
    let path: String
    let limits: Limits
    let persistentLoad: PersistentLoad
    /// Holds every list and dict created, so the caller can break cycles with ``PickleArena/clear()`` once done.
    var arena = PickleArena()

    /// Reads one pickle starting at `start`.
    /// - Returns: the value and the offset just past its `STOP`.
    /// - Throws: ``TorchCheckpointError``.
    func load(from start: Int = 0) throws(TorchCheckpointError) -> (value: PickleValue, end: Int) {
        var machine = Machine(bytes: bytes, path: path, limits: limits, persistentLoad: persistentLoad, arena: arena, position: start)
        return try machine.run()
    }
}

/// The unpickler's state while it runs one stream.
private struct Machine {
    let bytes: [UInt8]
    let path: String
    let limits: RestrictedUnpickler.Limits
    let persistentLoad: RestrictedUnpickler.PersistentLoad
    let arena: PickleArena
    var position: Int
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    /// Offset of the opcode being executed, for messages.
    var opcodeOffset = 0

    init(
        bytes: [UInt8], path: String, limits: RestrictedUnpickler.Limits, persistentLoad: @escaping RestrictedUnpickler.PersistentLoad,
        arena: PickleArena, position: Int
    ) {
        self.bytes = bytes
        self.path = path
        self.limits = limits
        self.persistentLoad = persistentLoad
        self.arena = arena
        self.position = position
    }

    func malformed(_ reason: String) -> TorchCheckpointError {
        TorchCheckpointError(path: path, .malformedPickle(offset: opcodeOffset, reason: reason))
    }

    // MARK: reading the stream

    mutating func read(_ count: Int) throws(TorchCheckpointError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else {
            throw malformed("the stream ends inside an argument (\(count) bytes wanted, \(bytes.count - position) left)")
        }
        defer { position += count }
        return bytes[position..<position + count]
    }

    mutating func readUInt(_ count: Int) throws(TorchCheckpointError) -> UInt64 {
        try read(count).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// A length prefix of `count` bytes, checked against what is left of the stream.
    mutating func readLength(_ count: Int) throws(TorchCheckpointError) -> Int {
        let length = try readUInt(count)
        guard length <= UInt64(bytes.count - position) else {
            throw malformed("a length of \(length) bytes runs past the end of the stream")
        }
        return Int(length)
    }

    /// A newline-terminated ASCII line (the arguments of `GLOBAL`), at most 512 bytes.
    mutating func readLine() throws(TorchCheckpointError) -> String {
        let limit = min(bytes.count, position + 512)
        guard let newline = bytes[position..<limit].firstIndex(of: 0x0A) else {
            throw malformed("GLOBAL argument without a newline within 512 bytes")
        }
        let line = bytes[position..<newline]
        position = newline + 1
        guard line.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { throw malformed("GLOBAL argument is not printable ASCII") }
        return String(decoding: line, as: UTF8.self)
    }

    mutating func readString(_ count: Int) throws(TorchCheckpointError) -> String {
        let raw = try read(count)
        guard let string = String(bytes: raw, encoding: .utf8) else { throw malformed("a string is not valid UTF-8") }
        return string
    }

    // MARK: the stack

    mutating func push(_ value: PickleValue) throws(TorchCheckpointError) {
        guard stack.count < limits.stackSize else {
            throw TorchCheckpointError(path: path, .limitExceeded(reason: "the pickle stack passed \(limits.stackSize) values"))
        }
        stack.append(value)
    }

    /// The lowest stack index the current mark frame may touch.
    var frameBase: Int { marks.last ?? 0 }

    mutating func pop() throws(TorchCheckpointError) -> PickleValue {
        guard stack.count > frameBase else { throw malformed("\(PickleOpcode.name(bytes[opcodeOffset])) on an empty stack") }
        return stack.removeLast()
    }

    func top() throws(TorchCheckpointError) -> PickleValue {
        guard stack.count > frameBase, let value = stack.last else {
            throw malformed("\(PickleOpcode.name(bytes[opcodeOffset])) on an empty stack")
        }
        return value
    }

    mutating func popMark() throws(TorchCheckpointError) -> [PickleValue] {
        guard let mark = marks.popLast() else { throw malformed("\(PickleOpcode.name(bytes[opcodeOffset])) without a MARK") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    mutating func memoize(_ index: Int) throws(TorchCheckpointError) {
        guard index >= 0 else { throw malformed("negative memo index \(index)") }
        guard memo[index] != nil || memo.count < limits.memoSize else {
            throw TorchCheckpointError(path: path, .limitExceeded(reason: "the pickle memo passed \(limits.memoSize) entries"))
        }
        memo[index] = try top()
    }

    mutating func recall(_ index: Int) throws(TorchCheckpointError) {
        guard let value = memo[index] else { throw malformed("memo entry \(index) is read before it is written") }
        try push(value)
    }

    // MARK: running

    mutating func run() throws(TorchCheckpointError) -> (value: PickleValue, end: Int) {
        while true {
            guard position < bytes.count else { throw malformed("the stream ends without STOP") }
            opcodeOffset = position
            let code = bytes[position]
            position += 1
            switch code {
            case 0x80:  // PROTO
                let version = try read(1).first!
                guard version <= 5 else { throw malformed("pickle protocol \(version) is newer than 5") }
            case 0x95:  // FRAME: a length hint only
                _ = try readUInt(8)
            case 0x2E:  // STOP
                let value = try pop()
                return (value, position)
            case 0x28:  // MARK
                guard marks.count < limits.markDepth else {
                    throw TorchCheckpointError(path: path, .limitExceeded(reason: "pickle MARKs nest deeper than \(limits.markDepth)"))
                }
                marks.append(stack.count)
            case 0x30:  // POP
                if stack.count > frameBase { stack.removeLast() } else { _ = try popMark() }
            case 0x31:  // POP_MARK
                _ = try popMark()
            case 0x32:  // DUP
                try push(try top())
            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4B: try push(.int(Int(try readUInt(1))))  // BININT1
            case 0x4D: try push(.int(Int(try readUInt(2))))  // BININT2
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try readUInt(4)))))  // BININT
            case 0x8A: try pushLong(count: Int(try readUInt(1)))  // LONG1
            case 0x8B: try pushLong(count: try readLength(4))  // LONG4
            case 0x47:  // BINFLOAT, big-endian
                let raw = try read(8)
                try push(.float(Double(bitPattern: raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case 0x58: try push(.string(try readString(try readLength(4))))  // BINUNICODE
            case 0x8C: try push(.string(try readString(try readLength(1))))  // SHORT_BINUNICODE
            case 0x8D: try push(.string(try readString(try readLength(8))))  // BINUNICODE8
            case 0x55, 0x54:  // SHORT_BINSTRING, BINSTRING: Python 2 str, read as ASCII like Python 3 does
                let count = code == 0x55 ? try readLength(1) : try readLength(4)
                let raw = try read(count)
                guard raw.allSatisfy({ $0 < 0x80 }) else { throw malformed("a Python 2 string is not ASCII") }
                try push(.string(String(decoding: raw, as: UTF8.self)))
            case 0x43: try push(.bytes(Data(try read(try readLength(1)))))  // SHORT_BINBYTES
            case 0x42: try push(.bytes(Data(try read(try readLength(4)))))  // BINBYTES
            case 0x8E: try push(.bytes(Data(try read(try readLength(8)))))  // BINBYTES8
            case 0x5D: try push(.list(arena.register(PickleList())))  // EMPTY_LIST
            case 0x7D: try push(.dict(arena.register(PickleDict())))  // EMPTY_DICT
            case 0x29: try push(.tuple([]))  // EMPTY_TUPLE
            case 0x85: try push(.tuple([try pop()]))  // TUPLE1
            case 0x86:  // TUPLE2
                let second = try pop()
                try push(.tuple([try pop(), second]))
            case 0x87:  // TUPLE3
                let third = try pop()
                let second = try pop()
                try push(.tuple([try pop(), second, third]))
            case 0x74: try push(.tuple(try popMark()))  // TUPLE
            case 0x6C: try push(.list(arena.register(PickleList(try popMark()))))  // LIST
            case 0x64:  // DICT
                let items = try popMark()
                let dict = arena.register(PickleDict())
                try fill(dict, with: items)
                try push(.dict(dict))
            case 0x61:  // APPEND
                let value = try pop()
                try list(under: "APPEND").items.append(value)
            case 0x65:  // APPENDS
                let items = try popMark()
                try list(under: "APPENDS").items.append(contentsOf: items)
            case 0x73:  // SETITEM
                let value = try pop()
                let key = try pop()
                try fill(try dict(under: "SETITEM"), with: [key, value])
            case 0x75:  // SETITEMS
                let items = try popMark()
                try fill(try dict(under: "SETITEMS"), with: items)
            case 0x71: try memoize(Int(try readUInt(1)))  // BINPUT
            case 0x72: try memoize(Int(try readUInt(4)))  // LONG_BINPUT
            case 0x94: try memoize(memo.count)  // MEMOIZE
            case 0x68: try recall(Int(try readUInt(1)))  // BINGET
            case 0x6A: try recall(Int(try readUInt(4)))  // LONG_BINGET
            case 0x63:  // GLOBAL
                let module = try readLine()
                let name = try readLine()
                try push(.global(try resolve(module: module, name: name)))
            case 0x93:  // STACK_GLOBAL
                let nameValue = try pop()
                let moduleValue = try pop()
                guard case .string(let name) = nameValue, case .string(let module) = moduleValue else {
                    throw malformed("STACK_GLOBAL needs two strings")
                }
                try push(.global(try resolve(module: module, name: name)))
            case 0x51:  // BINPERSID
                let id = try pop()
                try push(try persistentLoad(id, opcodeOffset))
            case 0x52:  // REDUCE
                let arguments = try pop()
                let callable = try pop()
                try push(try reduce(callable, arguments))
            default:
                throw TorchCheckpointError(path: path, .unsupportedOpcode(code: code, name: PickleOpcode.name(code), offset: opcodeOffset))
            }
        }
    }

    mutating func pushLong(count: Int) throws(TorchCheckpointError) {
        guard count <= limits.integerBytes else {
            throw TorchCheckpointError(path: path, .limitExceeded(reason: "a \(count)-byte integer at byte \(opcodeOffset)"))
        }
        let raw = Array(try read(count))
        if count == 0 { return try push(.int(0)) }
        if count <= 8 {
            let negative = raw[count - 1] & 0x80 != 0
            var value = negative ? UInt64.max : 0
            for (index, byte) in raw.enumerated() {
                value &= ~(UInt64(0xFF) << (8 * UInt64(index)))
                value |= UInt64(byte) << (8 * UInt64(index))
            }
            return try push(.int(Int(bitPattern: UInt(value))))
        }
        try push(.bigInt(raw))
    }

    func resolve(module: String, name: String) throws(TorchCheckpointError) -> AllowedGlobal {
        guard let global = AllowedGlobal.resolve(module: module, name: name) else {
            throw TorchCheckpointError(path: path, .forbiddenGlobal(module: module, name: name))
        }
        return global
    }

    func list(under opcode: String) throws(TorchCheckpointError) -> PickleList {
        guard case .list(let list) = try top() else { throw malformed("\(opcode) needs a list under its items, found \(try top().typeName)") }
        return list
    }

    func dict(under opcode: String) throws(TorchCheckpointError) -> PickleDict {
        guard case .dict(let dict) = try top() else { throw malformed("\(opcode) needs a dict under its items, found \(try top().typeName)") }
        return dict
    }

    func fill(_ dict: PickleDict, with items: [PickleValue]) throws(TorchCheckpointError) {
        guard items.count % 2 == 0 else { throw malformed("an odd number of items for a dict") }
        for pair in stride(from: 0, to: items.count, by: 2) where !dict.set(items[pair], items[pair + 1]) {
            throw malformed("a dict key of type \(items[pair].typeName) (only str and int keys are read)")
        }
    }

    // MARK: calls

    /// Applies an allowed global to its argument tuple.
    func reduce(_ callable: PickleValue, _ arguments: PickleValue) throws(TorchCheckpointError) -> PickleValue {
        guard case .global(let global) = callable else { throw malformed("REDUCE on a \(callable.typeName), not a callable") }
        guard case .tuple(let args) = arguments else { throw malformed("REDUCE arguments are a \(arguments.typeName), not a tuple") }
        switch global {
        case .orderedDict:
            guard args.isEmpty else { throw malformed("collections.OrderedDict called with arguments") }
            return .dict(arena.register(PickleDict()))
        case .torchSize:
            guard args.count == 1, let sizes = integers(args[0]) else { throw malformed("torch.Size needs one tuple of integers") }
            return .tuple(sizes.map { .int($0) })
        case .rebuildParameter:
            guard args.count == 3, case .tensor(let tensor) = args[0], boolean(args[1]) != nil, isEmptyHooks(args[2]) else {
                throw malformed("torch._utils._rebuild_parameter needs (tensor, bool, empty OrderedDict)")
            }
            return .tensor(tensor)
        case .rebuildTensorV2:
            guard args.count == 6 || args.count == 7 else {
                throw malformed("torch._utils._rebuild_tensor_v2 takes 6 or 7 arguments, got \(args.count)")
            }
            guard case .storage(let storage) = args[0] else {
                throw malformed("torch._utils._rebuild_tensor_v2: argument 1 is a \(args[0].typeName), not a storage")
            }
            guard case .int(let offset) = args[1], let shape = integers(args[2]), let strides = integers(args[3]),
                boolean(args[4]) != nil, isEmptyHooks(args[5])
            else {
                throw malformed("torch._utils._rebuild_tensor_v2 needs (storage, int, size tuple, stride tuple, bool, empty OrderedDict)")
            }
            if args.count == 7 {
                switch args[6] {
                case .none, .dict: break
                default: throw malformed("torch._utils._rebuild_tensor_v2: metadata is a \(args[6].typeName), not a dict")
                }
            }
            if let reason = TorchTensor.validate(storage: storage, offset: offset, shape: shape, strides: strides) {
                throw TorchCheckpointError(path: path, .badTensor(reason: reason))
            }
            return .tensor(TorchTensor(storage: storage, storageOffset: offset, shape: shape, strides: strides))
        case .storageType:
            throw malformed("\(global.qualifiedName) is a storage type; it may only appear inside a persistent id")
        }
    }

    func integers(_ value: PickleValue) -> [Int]? {
        let items: [PickleValue]
        switch value {
        case .tuple(let tuple): items = tuple
        case .list(let list): items = list.items
        default: return nil
        }
        var result: [Int] = []
        for item in items {
            guard case .int(let int) = item else { return nil }
            result.append(int)
        }
        return result
    }

    func boolean(_ value: PickleValue) -> Bool? {
        switch value {
        case .bool(let bool): bool
        case .int(0): false
        case .int(1): true
        default: nil
        }
    }

    /// Backward hooks are saved as an (always empty) `OrderedDict`; hooks would be code.
    func isEmptyHooks(_ value: PickleValue) -> Bool {
        if case .dict(let dict) = value { return dict.entries.isEmpty }
        return false
    }
}
