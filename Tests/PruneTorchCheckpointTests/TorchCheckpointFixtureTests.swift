import Foundation
import PruneTensor
import PruneTestSupport
import PruneTorchCheckpoint
import Testing

/// Reading files that torch.save wrote (`Tests/Fixtures/make_ecodiff_fixtures.py`): every layout the reader
/// supports gives the values torch saved, and every pickle that would run code is refused by name.
@Suite struct TorchCheckpointFixtureTests {
    static func path(_ name: String) -> String { Fixtures.path("ecodiff/" + name) }

    /// The tensors of a checkpoint holding a list of tensors.
    static func tensorList(_ value: TorchValue) throws -> [TorchTensor] {
        let items = try #require(value.sequence)
        return try items.map { item in
            guard case .tensor(let tensor) = item else { throw TestFailure("a \(item.typeName) in the list") }
            return tensor
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// `expected.safetensors`' `lambda/<kind>/<i>` vectors, in index order.
    static func expectedLambdas(_ model: String, kind: String) throws -> [[Float]] {
        let file = try SafetensorsFile.open(path("\(model)/expected.safetensors"))
        let count = file.keys.filter { $0.hasPrefix("lambda/\(kind)/") }.count
        return try (0..<count).map { try file.tensor("lambda/\(kind)/\($0)").scalars() }
    }

    @Test("EcoDiff-format λ lists read back as torch saved them: bf16 vectors, one per module", arguments: ["sdxl-tiny", "sdxl-small"])
    func lambdaLists(model: String) throws {
        for (file, kind) in [("attn.pt", "attn"), ("ff.pt", "ff")] {
            let tensors = try Self.tensorList(try TorchCheckpoint.load(path: Self.path("\(model)/\(file)")))
            let expected = try Self.expectedLambdas(model, kind: kind)
            #expect(tensors.count == expected.count && !expected.isEmpty)
            for (tensor, values) in zip(tensors, expected) {
                #expect(tensor.dtype == .bfloat16)
                #expect(tensor.shape == [values.count])
                #expect(tensor.floatValues() == values)
            }
        }
    }

    @Test("The legacy (non-zip) and protocol-4 layouts of the same list read back identically", arguments: ["sdxl-tiny", "sdxl-small"])
    func legacyAndProtocol4(model: String) throws {
        let zipped = try Self.tensorList(try TorchCheckpoint.load(path: Self.path("\(model)/attn.pt")))
        for variant in ["attn-legacy.pt", "attn-protocol4.pt"] {
            let other = try Self.tensorList(try TorchCheckpoint.load(path: Self.path("\(model)/\(variant)")))
            #expect(other.count == zipped.count)
            for (a, b) in zip(zipped, other) {
                #expect(a.dtype == b.dtype && a.shape == b.shape)
                #expect(a.floatValues() == b.floatValues())
            }
        }
    }

    /// The entries of a checkpoint holding a dict, by string key, in order.
    static func dictEntries(_ value: TorchValue) throws -> [(String, TorchTensor)] {
        guard case .dict(let entries) = value else { throw TestFailure("a \(value.typeName), not a dict") }
        return try entries.map { entry in
            guard case .string(let key) = entry.key, case .tensor(let tensor) = entry.value else { throw TestFailure("a non-tensor entry") }
            return (key, tensor)
        }
    }

    static func checkTensorFile(_ file: String) throws {
        let entries = try dictEntries(try TorchCheckpoint.load(path: path(file)))
        let expected = try SafetensorsFile.open(path("tensors.safetensors"))
        let order = try JSONDecoder().decode([String].self, from: Data(try #require(expected.metadata["order"]).utf8))
        #expect(entries.map(\.0) == order)
        for (key, tensor) in entries {
            let reference = try expected.tensor(key)
            #expect(tensor.shape == reference.shape, "\(key)")
            #expect(tensor.floatValues() == reference.scalars(), "\(key)")
        }
        let dtypes = Dictionary(uniqueKeysWithValues: entries.map { ($0.0, $0.1.dtype) })
        #expect(dtypes["float64"] == .float64 && dtypes["float16"] == .float16 && dtypes["bfloat16"] == .bfloat16)
        let views = Dictionary(uniqueKeysWithValues: entries.map { ($0.0, $0.1) })
        #expect(views["transposed"]?.strides == [1, 6])
        #expect(views["offset_view"]?.storageOffset == 3)
        #expect(views["strided_every_other"]?.strides == [2])
        #expect(views["offset_view"]?.storage.key == views["shared_head"]?.storage.key)
    }

    @Test("An OrderedDict of every float dtype, strided and offset views, a shared storage, a Parameter, an empty tensor and a scalar")
    func tensorFile() throws { try Self.checkTensorFile("tensors.pt") }

    @Test("The same archive rewritten with zip64 records reads identically")
    func zip64() throws { try Self.checkTensorFile("tensors-zip64.pt") }

    @Test("A compressed (deflated) archive is refused, naming the entry")
    func deflated() throws {
        let error = try #require(throws: TorchCheckpointError.self) { try TorchCheckpoint.load(path: Self.path("tensors-deflated.pt")) }
        guard case .compressedEntry(let name, let method) = error.problem else { Issue.record("\(error)"); return }
        #expect(name.hasSuffix("data.pkl") && method == 8)
        #expect(error.description.contains("tensors-deflated.pt"))
    }

    @Test(
        "Pickles that would run code are refused with an error naming the global",
        arguments: [
            ("os-system.pt", "posix", "system", "os.system"), ("os-system-legacy.pt", "posix", "system", "os.system"),
            ("os-system.pkl", "posix", "system", "os.system"), ("os-system-protocol4.pt", "posix", "system", "os.system"),
            ("builtins-eval.pt", "__builtin__", "eval", "builtins.eval"),
            ("builtins-eval-legacy.pt", "__builtin__", "eval", "builtins.eval"),
            ("subprocess-popen.pt", "commands", "Popen", "subprocess.Popen"),
            ("subprocess-popen-legacy.pt", "commands", "Popen", "subprocess.Popen"),
        ])
    func malicious(file: String, module: String, name: String, common: String) throws {
        let path = Self.path("malicious/" + file)
        let error = try #require(throws: TorchCheckpointError.self) { try TorchCheckpoint.load(path: path) }
        #expect(error.problem == .forbiddenGlobal(module: module, name: name))
        #expect(error.description.contains("refused global \(module).\(name) (\(common))"), "\(error)")
        #expect(error.description.hasPrefix(path))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/prunekit-payload-ran"))
    }
}
