import Foundation
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

@testable import PruneTorchCheckpoint

/// EcoDiff λ files → binary masks, against masks computed the release's way in Python
/// (`make_ecodiff_fixtures.py`, `release_binarize`, itself checked against the release's own code).
@Suite struct EcoDiffImportTests {
    static func path(_ name: String) -> String { Fixtures.path("ecodiff/" + name) }

    /// The fixture U-Net `model` (Tests/Fixtures/<model>) and its parameters.
    static func unet(_ model: String) throws -> (groups: [UnitGroup], store: ParameterStore) {
        let (unet, store) = try UNet2DConditionModel.load(directory: Fixtures.path(model))
        return (unet.unitGroups, store)
    }

    static func lambdas(_ model: String) throws -> (EcoDiffImport.Lambdas, EcoDiffImport.Lambdas) {
        (try EcoDiffImport.readLambdas(path: path("\(model)/attn.pt")), try EcoDiffImport.readLambdas(path: path("\(model)/ff.pt")))
    }

    static func expected(_ model: String) throws -> SafetensorsFile { try SafetensorsFile.open(path("\(model)/expected.safetensors")) }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) throws -> T {
        try JSONDecoder().decode(type, from: Data(try #require(text).utf8))
    }

    @Test("SDXL unit groups list attention and FFN modules in the order diffusers' forward calls them (EcoDiff's list order)", arguments: ["sdxl-tiny", "sdxl-small"])
    func executionOrder(model: String) throws {
        let groups = try Self.unet(model).groups
        let file = try Self.expected(model)
        let attention = try Self.decode([String].self, file.metadata["attention_order"])
        let ffn = try Self.decode([String].self, file.metadata["ffn_order"])
        #expect(groups.filter { $0.kind == .attentionHead }.map(\.moduleKey) == attention)
        #expect(groups.filter { $0.kind == .feedForwardNeuron }.map(\.moduleKey) == ffn)
    }

    @Test("Masks equal the release's binarisation for every scope and ratio in the fixtures", arguments: ["sdxl-tiny", "sdxl-small"])
    func matchesRelease(model: String) throws {
        let groups = try Self.unet(model).groups
        let (attention, ffn) = try Self.lambdas(model)
        let file = try Self.expected(model)
        struct Case: Decodable {
            var name: String, scope: String, heads: Double, neurons: Double
            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                name = try container.decode(String.self)
                scope = try container.decode(String.self)
                heads = try container.decode(Double.self)
                neurons = try container.decode(Double.self)
            }
        }
        let cases = try Self.decode([Case].self, file.metadata["cases"])
        #expect(cases.count == 7)
        for testCase in cases {
            let result = try EcoDiffImport.binarize(
                attention: attention, feedForward: ffn, groups: groups, scope: try #require(EcoDiffBinarization.Scope(rawValue: testCase.scope)),
                ratios: EcoDiffImport.Ratios(heads: testCase.heads, neurons: testCase.neurons))
            let maskable = groups.filter { $0.kind == .attentionHead || $0.kind == .feedForwardNeuron }
            #expect(result.masks.byModule.count == maskable.count)
            var keptHeads = 0
            for group in maskable {
                let expected = try file.tensor("\(testCase.name)/mask.\(group.moduleKey)").scalars()
                #expect(result.masks[group.moduleKey]?.scalars() == expected, "\(testCase.name) \(group.moduleKey)")
                if group.kind == .attentionHead { keptHeads += expected.filter { $0 == 1 }.count }
            }
            #expect(result.keptHeads == keptHeads)
            if testCase.scope == "global" {
                #expect(result.keptHeads == EcoDiffBinarization.keptCount(of: result.totalHeads, ratio: testCase.heads))
                #expect(result.keptNeurons == EcoDiffBinarization.keptCount(of: result.totalNeurons, ratio: testCase.neurons))
            }
        }
    }

    @Test("λ files for another model are refused, naming the file and both counts")
    func moduleCountMismatch() throws {
        let groups = try Self.unet("sdxl-tiny").groups
        let (attention, ffn) = try Self.lambdas("sdxl-small")
        #expect(throws: EcoDiffImportError.moduleCount(path: Self.path("sdxl-small/attn.pt"), kind: "attention heads", found: 34, expected: 24)) {
            try EcoDiffImport.binarize(attention: attention, feedForward: ffn, groups: groups, scope: .global, ratios: .release)
        }
        let error = EcoDiffImportError.moduleCount(path: "attn.pt", kind: "attention heads", found: 34, expected: 24)
        #expect(error.description == "attn.pt: 34 λ vectors, but the model has 24 attention heads modules (EcoDiff saves one per module, in execution order)")
    }

    @Test("A λ vector of the wrong width is refused, naming its index and the module")
    func unitCountMismatch() throws {
        let groups = try Self.unet("sdxl-tiny").groups
        var (attention, ffn) = try Self.lambdas("sdxl-tiny")
        ffn.vectors[5].append(1)
        let module = groups.filter { $0.kind == .feedForwardNeuron }[5].moduleKey
        #expect(throws: EcoDiffImportError.unitCount(path: ffn.path, index: 5, module: module, kind: "FFN neurons", found: 17, expected: 16)) {
            try EcoDiffImport.binarize(attention: attention, feedForward: ffn, groups: groups, scope: .local, ratios: .release)
        }
        attention.vectors.removeLast()
        #expect(throws: EcoDiffImportError.self) {
            try EcoDiffImport.binarize(attention: attention, feedForward: ffn, groups: groups, scope: .local, ratios: .release)
        }
    }

    @Test("Ratios outside [0, 1] (and NaN) are refused")
    func badRatios() throws {
        let groups = try Self.unet("sdxl-tiny").groups
        let (attention, ffn) = try Self.lambdas("sdxl-tiny")
        for ratios in [EcoDiffImport.Ratios(heads: 1.5, neurons: 0.5), EcoDiffImport.Ratios(heads: 0.5, neurons: -0.1), EcoDiffImport.Ratios(heads: .nan, neurons: 0.5)] {
            #expect(throws: EcoDiffImportError.self) {
                try EcoDiffImport.binarize(attention: attention, feedForward: ffn, groups: groups, scope: .global, ratios: ratios)
            }
        }
    }

    @Test("Ties at the cut-off go to the earlier unit, across modules under global scope")
    func ties() {
        #expect(EcoDiffBinarization.keep([[1, 2], [2, 0]], scope: .global, ratio: 0.5) == [[false, true], [true, false]])
        #expect(EcoDiffBinarization.keep([[1, 2], [2, 0]], scope: .global, ratio: 0.25) == [[false, true], [false, false]])
        #expect(EcoDiffBinarization.keep([[3, 3, 3, 3]], scope: .local, ratio: 0.5) == [[true, true, false, false]])
        #expect(EcoDiffBinarization.keep([[0, -0.0, 0]], scope: .local, ratio: 0.34) == [[true, false, false]])
    }

    @Test("k = int(n·ratio) truncates in double precision; k = 0 keeps no unit (the release would keep all but the smallest)")
    func keptCounts() {
        #expect(EcoDiffBinarization.keptCount(of: 2600, ratio: 0.68) == 1768)
        #expect(EcoDiffBinarization.keptCount(of: 332_800, ratio: 0.88) == 292_864)
        #expect(EcoDiffBinarization.keptCount(of: 10, ratio: 0.29) == 2)  // 2.9 truncates
        #expect(EcoDiffBinarization.keptCount(of: 100, ratio: 0.29) == 28)  // 100 × 0.29 = 28.999999999999996 in doubles
        #expect(EcoDiffBinarization.keep([[1, 2, 3]], scope: .local, ratio: 0.2) == [[false, false, false]])
        #expect(EcoDiffBinarization.keep([[1, 2, 3]], scope: .local, ratio: 1) == [[true, true, true]])
    }

    @Test("FFN λ are clamped at 0 before ranking (negative ones tie at 0, earliest first); attention λ are not")
    func clamp() throws {
        let groups = [
            UnitGroup(moduleKey: "a.attn1", kind: .attentionHead, unitCount: 3, slices: []),
            UnitGroup(moduleKey: "a.ff", kind: .feedForwardNeuron, unitCount: 4, slices: []),
        ]
        let result = try EcoDiffImport.binarize(
            attention: .init(path: "attn.pt", vectors: [[-1, -3, -2]]), feedForward: .init(path: "ff.pt", vectors: [[-3, -1, 0.5, -2]]),
            groups: groups, scope: .local, ratios: .init(heads: 0.34, neurons: 0.5))
        #expect(result.masks["a.attn1"]?.scalars() == [1, 0, 0])
        #expect(result.masks["a.ff"]?.scalars() == [1, 0, 1, 0])
        #expect(result.emptiedModules.isEmpty)
        let emptied = try EcoDiffImport.binarize(
            attention: .init(path: "attn.pt", vectors: [[-1, -3, -2]]), feedForward: .init(path: "ff.pt", vectors: [[1, 2, 3, 4]]),
            groups: groups, scope: .local, ratios: .init(heads: 0.2, neurons: 1))
        #expect(emptied.emptiedModules == ["a.attn1"])
    }

    /// Writes a hand-built one-list checkpoint to a temporary file.
    static func temporaryCheckpoint(_ pickle: [UInt8], storages: [(String, [UInt8])]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ecodiff-\(UUID().uuidString).pt").path
        try Data(CheckpointBuilder.checkpoint(pickle: pickle, storages: storages)).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("λ files holding anything but a list of finite 1-D float tensors are refused, naming the entry")
    func badLambdaFiles() throws {
        typealias Pickle = CheckpointBuilder.Pickle
        let nan = try Self.temporaryCheckpoint(
            Pickle.list { $0.tensor(numel: 2, size: [2], stride: [1]) }, storages: [("0", CheckpointBuilder.floats([1, .nan]))])
        defer { try? FileManager.default.removeItem(atPath: nan) }
        #expect(throws: EcoDiffImportError.nonFinite(path: nan, index: 0, unit: 1)) { try EcoDiffImport.readLambdas(path: nan) }

        let matrix = try Self.temporaryCheckpoint(
            Pickle.list { $0.tensor(numel: 4, size: [2, 2], stride: [2, 1]) }, storages: [("0", CheckpointBuilder.floats([1, 2, 3, 4]))])
        defer { try? FileManager.default.removeItem(atPath: matrix) }
        #expect(throws: EcoDiffImportError.notAVector(path: matrix, index: 0, shape: [2, 2])) { try EcoDiffImport.readLambdas(path: matrix) }

        let integers = try Self.temporaryCheckpoint(
            Pickle.list { $0.tensor(storageType: "LongStorage", numel: 2, size: [2], stride: [1]) }, storages: [("0", [UInt8](repeating: 0, count: 16))])
        defer { try? FileManager.default.removeItem(atPath: integers) }
        #expect(throws: EcoDiffImportError.notFloatingPoint(path: integers, index: 0, dtype: "int64")) { try EcoDiffImport.readLambdas(path: integers) }

        let none = try Self.temporaryCheckpoint(Pickle.list { $0.op(0x4E) }, storages: [])
        defer { try? FileManager.default.removeItem(atPath: none) }
        #expect(throws: EcoDiffImportError.notATensor(path: none, index: 0, found: "None")) { try EcoDiffImport.readLambdas(path: none) }

        #expect(throws: EcoDiffImportError.notAList(path: Self.path("tensors.pt"), found: "dict")) { try EcoDiffImport.readLambdas(path: Self.path("tensors.pt")) }

        let malicious = Self.path("malicious/os-system.pt")
        #expect(throws: EcoDiffImportError.checkpoint(TorchCheckpointError(path: malicious, .forbiddenGlobal(module: "posix", name: "system")))) {
            try EcoDiffImport.readLambdas(path: malicious)
        }
    }

    @Test("The parameters the masks remove equal what physically pruning the fixture model removes")
    func parameterCount() throws {
        let (groups, store) = try Self.unet("sdxl-small")
        let (attention, ffn) = try Self.lambdas("sdxl-small")
        for scope in EcoDiffBinarization.Scope.allCases {
            let result = try EcoDiffImport.binarize(
                attention: attention, feedForward: ffn, groups: groups, scope: scope, ratios: .init(heads: 0.5, neurons: 0.3))
            let removed = result.selection.removedParameterCount(in: groups) { store.parameters[$0]?.shape }
            let pruned = try ParameterSurgery.prune(store.parameters, groups: groups, selection: result.selection)
            #expect(removed > 0)
            #expect(store.parameterCount - removed == pruned.values.reduce(0) { $0 + $1.count })
        }
    }
}
