import Foundation
import PruneTensor
import PruneTestSupport
import Testing

@testable import PruneTorchCheckpoint

/// Damaged and hostile files: every one ends in one ``TorchCheckpointError`` naming what is wrong — never a
/// trap, a hang or an unbounded allocation.
@Suite struct HostileCheckpointTests {
    typealias Pickle = CheckpointBuilder.Pickle

    static func load(_ bytes: [UInt8]) throws(TorchCheckpointError) -> TorchValue {
        try TorchCheckpoint.load(data: Data(bytes), name: "hostile.pt")
    }

    /// The problem `bytes` is refused with (a test failure if they load).
    static func problem(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> TorchCheckpointError.Problem? {
        do {
            let value = try load(bytes)
            Issue.record("loaded a \(value.typeName)", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(error.path == "hostile.pt", sourceLocation: sourceLocation)
            return error.problem
        }
    }

    /// A one-tensor list archive, with the pickle built by `body`.
    static func archive(storage: [UInt8] = CheckpointBuilder.floats([1, 2, 3, 4]), _ body: (inout Pickle) -> Void) -> [UInt8] {
        CheckpointBuilder.checkpoint(pickle: Pickle.list(body), storages: [("0", storage)])
    }

    @Test("The hand-built archive format itself loads (the baseline the hostile variants depart from)")
    func baseline() throws {
        let value = try Self.load(Self.archive { $0.tensor(numel: 4, offset: 1, size: [3], stride: [1]) })
        guard case .list(let items) = value, case .tensor(let tensor) = items.first else { Issue.record("\(value)"); return }
        #expect(tensor.floatValues() == [2, 3, 4])
    }

    @Test("Tensor views outside their storage are refused: past the end, offset, negative stride, overflowing sizes")
    func viewsOutOfBounds() {
        let cases: [(Int, [Int], [Int])] = [(0, [5], [1]), (4, [1], [1]), (0, [2, 2], [3, 1]), (0, [4], [-1]),
                                            (0, [Int.max / 2, 4], [1, 1]), (-1, [1], [1]), (0, [2], [Int.max]),
                                            (0, [1 << 40], [0])]
        for (offset, size, stride) in cases {
            let problem = Self.problem(Self.archive { $0.tensor(numel: 4, offset: offset, size: size, stride: stride) })
            guard case .badTensor = problem else { Issue.record("offset \(offset) size \(size) stride \(stride): \(String(describing: problem))"); continue }
        }
    }

    @Test("A storage record whose size disagrees with its element count, or that is missing, is refused")
    func storageRecords() {
        let short = Self.problem(Self.archive(storage: CheckpointBuilder.floats([1, 2, 3])) { $0.tensor(numel: 4, size: [4], stride: [1]) })
        guard case .badTensor(let reason) = short else { Issue.record("\(String(describing: short))"); return }
        #expect(reason.contains("holds 12 bytes") && reason.contains("needs 16"))
        let missing = Self.problem(Self.archive { $0.tensor(key: "7", numel: 4, size: [4], stride: [1]) })
        #expect(missing == .missingRecord(name: "archive/data/7"))
        let twoTypes = Self.problem(Self.archive {
            $0.tensor(numel: 4, size: [4], stride: [1])
            $0.tensor(storageType: "HalfStorage", numel: 8, size: [8], stride: [1])
        })
        guard case .badTensor(let why) = twoTypes else { Issue.record("\(String(describing: twoTypes))"); return }
        #expect(why.contains("two different types"))
        let hugeCount = Self.problem(Self.archive { $0.tensor(numel: Int.max / 2, size: [1], stride: [1]) })
        guard case .badTensor = hugeCount else { Issue.record("\(String(describing: hugeCount))"); return }
    }

    @Test("Zip damage is refused: no data.pkl, a CRC mismatch, duplicate names, a directory outside the file, garbage")
    func zipDamage() {
        let good = Self.archive { $0.tensor(numel: 4, size: [4], stride: [1]) }
        #expect(Self.problem(CheckpointBuilder.zip([("archive/byteorder", Array("little".utf8))])) == .missingRecord(name: "archive/data.pkl"))
        var corrupt = good
        let storageStart = corrupt.count - 22 - 3 * 46 - "archive/data.pkl".utf8.count - "archive/byteorder".utf8.count - "archive/data/0".utf8.count - 16
        corrupt[storageStart] ^= 0x40
        #expect(Self.problem(corrupt) == .checksumMismatch(name: "archive/data/0"))
        let duplicate = CheckpointBuilder.zip([("archive/data.pkl", [0x80, 0x02, 0x4E, 0x2E]), ("archive/data.pkl", [0x80, 0x02, 0x4E, 0x2E])])
        guard case .malformedZip(let reason) = Self.problem(duplicate) else { Issue.record("duplicate names loaded"); return }
        #expect(reason.contains("appears twice"))
        var outside = good
        outside[outside.count - 3] = 0xFF  // central directory offset's top byte
        guard case .malformedZip = Self.problem(outside) else { Issue.record("directory outside the file"); return }
        var badOrder = CheckpointBuilder.checkpoint(pickle: Pickle.raw { $0.op(0x4E) }, storages: [], byteorder: "middle")
        guard case .malformedZip(let order) = Self.problem(badOrder) else { Issue.record("byteorder middle"); return }
        #expect(order.contains("middle"))
        badOrder = Array("PK\u{3}\u{4}".utf8) + [UInt8](repeating: 0, count: 40)
        guard case .malformedZip = Self.problem(badOrder) else { Issue.record("zip signature without a zip"); return }
        #expect(Self.problem([]) == .notACheckpoint(firstBytes: ""))
        guard case .notACheckpoint = Self.problem(Array("just some text".utf8)) else { Issue.record("text"); return }
    }

    @Test("Opcodes that build arbitrary objects or belong to the text protocol are refused by name")
    func unsupportedOpcodes() {
        for (code, name) in [(UInt8(0x62), "BUILD"), (0x81, "NEWOBJ"), (0x69, "INST"), (0x82, "EXT1"), (0x49, "INT"), (0x8F, "EMPTY_SET"), (0x6F, "OBJ")] {
            let bytes = CheckpointBuilder.checkpoint(pickle: [0x80, 0x02, 0x4E, code, 0x2E], storages: [])
            #expect(Self.problem(bytes) == .unsupportedOpcode(code: code, name: name, offset: 3))
        }
    }

    @Test("Globals other than the tensor rebuilds are refused wherever they appear: GLOBAL, STACK_GLOBAL, inside a persistent id")
    func forbiddenGlobals() {
        let direct = CheckpointBuilder.checkpoint(pickle: Pickle.raw { $0.global("os", "system") }, storages: [])
        #expect(Self.problem(direct) == .forbiddenGlobal(module: "os", name: "system"))
        let stacked = CheckpointBuilder.checkpoint(pickle: Pickle.raw {
            $0.string("builtins")
            $0.string("exec")
            $0.op(0x93)
        }, storages: [])
        #expect(Self.problem(stacked) == .forbiddenGlobal(module: "builtins", name: "exec"))
        let asStorage = Self.archive { $0.tensor(storageType: "../os", numel: 4, size: [4], stride: [1]) }
        #expect(Self.problem(asStorage) == .forbiddenGlobal(module: "torch", name: "../os"))
        let torchButNotAllowed = CheckpointBuilder.checkpoint(pickle: Pickle.raw { $0.global("torch", "load") }, storages: [])
        #expect(Self.problem(torchButNotAllowed) == .forbiddenGlobal(module: "torch", name: "load"))
    }

    @Test("Errors stay on one line when names in the file hold control characters (a fuzzer finding)")
    func controlCharactersEscaped() throws {
        let stacked = CheckpointBuilder.checkpoint(pickle: Pickle.raw {
            $0.string("os\nimport")
            $0.string("system\r")
            $0.op(0x93)
        }, storages: [])
        let error = try #require(throws: TorchCheckpointError.self) { try Self.load(stacked) }
        #expect(error.problem == .forbiddenGlobal(module: "os\nimport", name: "system\r"))
        #expect(error.description.hasPrefix("hostile.pt: refused global os\\u{A}import.system\\u{D}: "), "\(error)")
        let named = CheckpointBuilder.zip([("archive/da\nta.pkl", [0x80, 0x02, 0x4E, 0x2E])])
        let missing = try #require(throws: TorchCheckpointError.self) { try Self.load(named) }
        #expect(!missing.description.contains("\n"))
        let replay = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("../../Fuzz/corpus/torch-checkpoint/regression-control-characters-in-entry-name.pt")))
        let fuzzed = try #require(throws: TorchCheckpointError.self) { try TorchCheckpoint.load(data: replay, name: "fuzz") }
        #expect(!fuzzed.description.contains("\n") && fuzzed.description.contains("\\u{"), "\(fuzzed)")
    }

    @Test("Malformed pickles are refused: bad memo reads, huge lengths, no STOP, calls on non-callables, bad persistent ids")
    func malformedPickles() {
        let cases: [(String, [UInt8])] = [
            ("memo read before write", [0x80, 0x02, 0x68, 0x05, 0x2E]),
            ("string length past the end", [0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0xFF, 0x41, 0x2E]),
            ("bytes8 length past the end", [0x80, 0x02, 0x8E] + [UInt8](repeating: 0xFF, count: 8) + [0x2E]),
            ("no STOP", [0x80, 0x02, 0x4E]),
            ("pop on an empty stack", [0x80, 0x02, 0x2E]),
            ("REDUCE on a tuple", [0x80, 0x02, 0x29, 0x29, 0x52, 0x2E]),
            ("APPEND to a tuple", [0x80, 0x02, 0x29, 0x4E, 0x61, 0x2E]),
            ("odd SETITEMS", [0x80, 0x02, 0x7D, 0x28, 0x4E, 0x75, 0x2E]),
            ("SETITEM on a list", [0x80, 0x02, 0x5D, 0x4E, 0x4E, 0x73, 0x2E]),
            ("SETITEMS on a tensor-less tuple", [0x80, 0x02, 0x29, 0x28, 0x4E, 0x4E, 0x75, 0x2E]),
            ("tuple dict key", [0x80, 0x02, 0x7D, 0x29, 0x4E, 0x73, 0x2E]),
            ("GLOBAL without newline", [0x80, 0x02, 0x63] + Array("torch".utf8) + [0x2E]),
            ("protocol 6", [0x80, 0x06, 0x4E, 0x2E]),
            ("TUPLE without MARK", [0x80, 0x02, 0x4E, 0x74, 0x2E]),
            ("UTF-8 error", [0x80, 0x02, 0x58, 0x01, 0x00, 0x00, 0x00, 0xFF, 0x2E]),
            ("bytes after STOP", [0x80, 0x02, 0x4E, 0x2E, 0x4E]),
        ]
        for (label, pickle) in cases {
            let problem = Self.problem(CheckpointBuilder.checkpoint(pickle: pickle, storages: []))
            guard case .malformedPickle = problem else { Issue.record("\(label): \(String(describing: problem))"); continue }
        }
        let calledStorageType = CheckpointBuilder.checkpoint(pickle: Pickle.raw {
            $0.global("torch", "FloatStorage")
            $0.op(0x29, 0x52)
        }, storages: [])
        guard case .malformedPickle(_, let reason) = Self.problem(calledStorageType) else { Issue.record("storage type called"); return }
        #expect(reason.contains("storage type"))
        let shortID = CheckpointBuilder.checkpoint(pickle: Pickle.raw {
            $0.op(0x28)
            $0.string("storage")
            $0.global("torch", "FloatStorage")
            $0.string("0")
            $0.string("cpu")
            $0.op(0x74, 0x51)
        }, storages: [("0", CheckpointBuilder.floats([1]))])
        guard case .malformedPickle = Self.problem(shortID) else { Issue.record("4-tuple persistent id"); return }
        let hooks = CheckpointBuilder.checkpoint(pickle: Pickle.list {
            $0.global("torch._utils", "_rebuild_parameter")
            $0.op(0x28, 0x4E, 0x88, 0x7D, 0x74, 0x52)  // (None, True, {}) — data is not a tensor
        }, storages: [])
        guard case .malformedPickle = Self.problem(hooks) else { Issue.record("_rebuild_parameter on None"); return }
    }

    @Test("Structures that would exhaust the stack, memory or time stop at a limit: deep marks, self-reference, doubling")
    func limits() {
        let deep = CheckpointBuilder.checkpoint(pickle: [0x80, 0x02] + [UInt8](repeating: 0x28, count: 5_000) + [0x2E], storages: [])
        guard case .limitExceeded = Self.problem(deep) else { Issue.record("5,000 nested MARKs"); return }
        // l = []; l.append(l)
        let cycle = CheckpointBuilder.checkpoint(pickle: [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E], storages: [])
        guard case .limitExceeded = Self.problem(cycle) else { Issue.record("a list that contains itself"); return }
        // l0 = []; l(i+1) = [l(i), l(i)] sixty times: 2^60 nodes if expanded.
        var doubling: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00]
        for level in 0..<60 { doubling += [0x28, 0x68, UInt8(level), 0x68, UInt8(level), 0x6C, 0x71, UInt8(level + 1)] }
        doubling += [0x2E]
        guard case .limitExceeded = Self.problem(CheckpointBuilder.checkpoint(pickle: doubling, storages: [])) else {
            Issue.record("exponential sharing")
            return
        }
        let wideLong = CheckpointBuilder.checkpoint(pickle: [0x80, 0x02, 0x8B, 0x00, 0x10, 0x00, 0x00] + [UInt8](repeating: 1, count: 4096) + [0x2E], storages: [])
        guard case .limitExceeded = Self.problem(wideLong) else { Issue.record("4 KiB integer"); return }
    }

    @Test("Stack and memo caps hold (checked with small caps)")
    func stackAndMemoCaps() {
        let none: RestrictedUnpickler.PersistentLoad = { (_, offset) throws(TorchCheckpointError) in
            throw TorchCheckpointError(path: "x", .malformedPickle(offset: offset, reason: "no storages"))
        }
        var limits = RestrictedUnpickler.Limits()
        limits.stackSize = 100
        let pushes = [UInt8](repeating: 0x4E, count: 101) + [0x2E]
        #expect(throws: TorchCheckpointError(path: "x", .limitExceeded(reason: "the pickle stack passed 100 values"))) {
            try RestrictedUnpickler(bytes: [0x80, 0x02] + pushes, path: "x", limits: limits, persistentLoad: none).load()
        }
        limits = RestrictedUnpickler.Limits()
        limits.memoSize = 10
        var memo: [UInt8] = [0x80, 0x02, 0x4E]
        for index in 0..<11 { memo += [0x72] + withUnsafeBytes(of: UInt32(index * 1_000_000).littleEndian, Array.init) }
        #expect(throws: TorchCheckpointError(path: "x", .limitExceeded(reason: "the pickle memo passed 10 entries"))) {
            try RestrictedUnpickler(bytes: memo + [0x2E], path: "x", limits: limits, persistentLoad: none).load()
        }
    }

    @Test("A list that contains itself is freed once loading ends (a fuzzer finding: reference cycles leaked)")
    func cyclesFreed() throws {
        let none: RestrictedUnpickler.PersistentLoad = { (_, offset) throws(TorchCheckpointError) in
            throw TorchCheckpointError(path: "x", .malformedPickle(offset: offset, reason: "no storages"))
        }
        // l = []; l.append(l)
        let unpickler = RestrictedUnpickler(bytes: [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E], path: "x", limits: .init(), persistentLoad: none)
        weak var weakList: PickleList?
        do {
            let (value, _) = try unpickler.load()
            guard case .list(let list) = value else { Issue.record("not a list"); return }
            weakList = list
            #expect(list.items.count == 1)
        }
        #expect(weakList != nil, "the cycle keeps the list alive until the arena is cleared")
        unpickler.arena.clear()
        #expect(weakList == nil)
        // Through the public entry point: the refusal leaves nothing behind either (checked under the fuzzer's leak
        // detector with the seed regression-self-referential-list-leak.pt).
        let replay = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("../../Fuzz/corpus/torch-checkpoint/regression-self-referential-list-leak.pt")))
        #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint.load(data: replay, name: "fuzz") }
    }

    @Test("Missing files and directories are reported as unreadable, naming the path")
    func unreadable() {
        #expect(throws: TorchCheckpointError(path: "/nonexistent/attn.pt", .unreadable(reason: "no such file"))) {
            try TorchCheckpoint.load(path: "/nonexistent/attn.pt")
        }
        let directory = Fixtures.path("ecodiff")
        #expect(throws: TorchCheckpointError(path: directory, .unreadable(reason: "it is a directory"))) { try TorchCheckpoint.load(path: directory) }
    }

    // MARK: fuzzing

    static func bytes(_ fixture: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("ecodiff/" + fixture)))) }

    @Test("Every truncation of a zip, a legacy and a dict checkpoint is refused", arguments: ["sdxl-tiny/attn.pt", "sdxl-tiny/attn-legacy.pt", "tensors.pt"])
    func truncations(fixture: String) throws {
        let whole = try Self.bytes(fixture)
        #expect((try? Self.load(whole)) != nil)
        var loaded: [Int] = []
        for length in 0..<whole.count where (try? Self.load(Array(whole[0..<length]))) != nil { loaded.append(length) }
        #expect(loaded.isEmpty, "prefixes that loaded: \(loaded.prefix(10))")
    }

    @Test("Random byte corruption of checkpoints either loads or is refused with a TorchCheckpointError", arguments: ["sdxl-tiny/attn.pt", "sdxl-tiny/attn-legacy.pt", "tensors.pt", "sdxl-tiny/attn-protocol4.pt"])
    func corruption(fixture: String) throws {
        let whole = try Self.bytes(fixture)
        var generator = SeededGenerator(seed: 2024)
        var refused = 0
        for _ in 0..<1_500 {
            var damaged = whole
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            do { _ = try Self.load(damaged) } catch { refused += 1 }  // typed throws: only TorchCheckpointError reaches here
        }
        #expect(refused > 0)
    }

    @Test("Random bytes, bare or behind a zip or pickle signature, are refused")
    func randomBytes() {
        var generator = SeededGenerator(seed: 7)
        for trial in 0..<600 {
            var bytes = (0..<Int.random(in: 0...2_000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            switch trial % 3 {
            case 0: bytes = Array("PK\u{3}\u{4}".utf8) + bytes
            case 1: bytes = [0x80, 0x02] + bytes
            default: break
            }
            #expect((try? Self.load(bytes)) == nil)
        }
    }
}
