import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// Masks and scores files read strictly against a model's unit groups (`UnitFile`).
@Suite struct UnitFileTests {
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-unitfile-\(UUID().uuidString)-\(name)").path
    }

    /// The unit groups of the SDXL tiny fixture (36 modules: attn1/attn2 with 4 heads, ff with 16 neurons).
    static func sdxlGroups() throws -> [UnitGroup] {
        try SDXLArchitecture().load(directory: Fixtures.path("sdxl-tiny")).unitGroups(of: [.attentionHead, .feedForwardNeuron])
    }

    /// The error `body` throws, as a `UnitFileError`.
    static func error(_ body: () throws -> Void) -> UnitFileError? {
        do {
            try body()
            return nil
        } catch let error as UnitFileError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("Binary masks round-trip: an export's masks read back as the selection, modules not named keep every unit")
    func masksRoundTrip() throws {
        let groups = try Self.sdxlGroups()
        var selection = UnitSelection()
        selection.setKept([0, 2], for: groups[0].moduleKey)
        selection.setKept([], for: groups[1].moduleKey)
        selection.setKept(Array(0..<groups[2].unitCount).filter { $0 % 3 != 0 }, for: groups[2].moduleKey)
        let path = Self.temporaryPath("masks.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Only the first three modules are written.
        var masks = selection.binaryMasks(for: groups)
        masks.byModule = masks.byModule.filter { key, _ in groups.prefix(3).contains { $0.moduleKey == key } }
        try masks.write(to: path)

        let read = try UnitFile.readMasks(path, groups: groups)
        #expect(read == selection)
        #expect(read.keptUnits(of: groups[3]) == Array(0..<groups[3].unitCount))
        #expect(read.kept.count == 3)
    }

    @Test("Masks in any dtype the reader knows count: booleans, integers and float16 0/1")
    func masksInOtherDTypes() throws {
        let groups = try Self.sdxlGroups()
        let path = Self.temporaryPath("bool.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try RawSafetensors.write(
            [
                RawSafetensors.Entry("mask." + groups[0].moduleKey, "BOOL", [4], [1, 0, 0, 1]),
                RawSafetensors.Entry.int64("mask." + groups[1].moduleKey, [4], [0, 1, 1, 1]),
                RawSafetensors.Entry("mask." + groups[3].moduleKey, "F16", [4], [0x00, 0x3C, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x3C]),
            ], to: path)
        let read = try UnitFile.readMasks(path, groups: groups)
        #expect(read.kept[groups[0].moduleKey] == [0, 3])
        #expect(read.kept[groups[1].moduleKey] == [1, 2, 3])
        #expect(read.kept[groups[3].moduleKey] == [0, 2, 3])
    }

    @Test("Scores round-trip through the score.<module key> file, and mask.<module key> values read as scores")
    func scoresRoundTrip() throws {
        let groups = try Self.sdxlGroups()
        var generator = SeededGenerator(seed: 3)
        let scores = UnitScores(Dictionary(uniqueKeysWithValues: groups.map { group in
            (group.moduleKey, (0..<group.unitCount).map { _ in generator.nextUniform() * 4 - 2 })
        }))
        let path = Self.temporaryPath("scores.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try UnitFile.write(scores: scores, groups: groups, to: path, metadata: ["prunekit.output": "scores"])
        #expect(try UnitFile.readScores(path, groups: groups) == scores)
        let file = try SafetensorsFile.open(path)
        #expect(file.keys.allSatisfy { $0.hasPrefix("score.") } && file.keys.count == groups.count)
        #expect(file.metadata["modules"]?.hasPrefix("[[\"\(groups[0].moduleKey)\",4,\"head\"]") == true)

        // The fixture's soft masks (values in [0, 1)) rank as scores.
        let soft = try UnitFile.readScores(Fixtures.path("sdxl-tiny/masks.safetensors"), groups: groups)
        let fixture = try SafetensorsFile.open(Fixtures.path("sdxl-tiny/masks.safetensors"))
        #expect(soft.byModule.count == groups.count)
        #expect(soft[groups[5].moduleKey] == (try fixture.tensor("mask." + groups[5].moduleKey)).scalars())
    }

    @Test("A masks file that does not fit the model is refused with an error naming the file, the tensor and what was expected")
    func badMasks() throws {
        let groups = try Self.sdxlGroups()
        let key = groups[0].moduleKey  // down_blocks.1.attentions.0.transformer_blocks.0.attn1
        let path = Self.temporaryPath("bad.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        func refusal(_ tensors: [String: Tensor]) throws -> UnitFileError? {
            try SafetensorsWriter.write(tensors, to: path)
            return Self.error { _ = try UnitFile.readMasks(path, groups: groups) }
        }

        // A typo in the module key: named, with the closest real one.
        let typo = "mask." + key.replacingOccurrences(of: "attn1", with: "atn1")
        #expect(try refusal([typo: Tensor.ones([4])]) == .unknownModule(path: path, tensor: typo, closest: "mask." + key, moduleCount: 36))
        // A key without the prefix.
        #expect(try refusal([key: Tensor.ones([4])]) == .unexpectedTensor(path: path, tensor: key, expected: "mask.<module key>", closest: "mask." + key))
        // Wrong length and wrong rank.
        #expect(try refusal(["mask." + key: Tensor.ones([3])]) == .shape(path: path, tensor: "mask." + key, expected: [4], actual: [3]))
        #expect(try refusal(["mask." + key: Tensor.ones([1, 4])]) == .shape(path: path, tensor: "mask." + key, expected: [4], actual: [1, 4]))
        // A value other than 0 or 1, with the hint to rank instead.
        let soft = try refusal(["mask." + key: Tensor([1, 0.5, 0, 1], shape: [4])])
        #expect(soft == .notBinary(path: path, tensor: "mask." + key, unit: 1, value: 0.5))
        #expect(soft?.description.contains("read the file as scores (prunekit prune --scores FILE") == true)
        // No mask tensors at all.
        #expect(try refusal(["weights": Tensor.ones([2])]) == .noUnits(path: path, expected: "mask.<module key>", found: ["weights"]))
        #expect(try refusal([:]) == .noUnits(path: path, expected: "mask.<module key>", found: []))
        // The fixture's soft masks.
        let fixture = Fixtures.path("sdxl-tiny/masks.safetensors")
        guard case .notBinary(fixture, _, _, _) = Self.error({ _ = try UnitFile.readMasks(fixture, groups: groups) }) else {
            Issue.record("soft masks were not refused as non-binary")
            return
        }
    }

    @Test("Files that are not safetensors, missing files, NaN scores and mixed prefixes are refused")
    func unreadableFiles() throws {
        let groups = try Self.sdxlGroups()
        let path = Self.temporaryPath("text.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("down_blocks.1 = 1\n".utf8).write(to: URL(fileURLWithPath: path))
        guard case .unreadable(path, let reason) = Self.error({ _ = try UnitFile.readMasks(path, groups: groups) }) else {
            Issue.record("a text file was not refused as unreadable")
            return
        }
        #expect(reason.hasPrefix(path))

        // A valid masks file cut short.
        try UnitSelection().binaryMasks(for: groups).write(to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: path))
        guard case .unreadable(path, let truncated) = Self.error({ _ = try UnitFile.readMasks(path, groups: groups) }) else {
            Issue.record("a truncated file was not refused as unreadable")
            return
        }
        #expect(truncated.hasPrefix(path))

        let missing = Self.temporaryPath("missing.safetensors")
        guard case .unreadable(missing, let why) = Self.error({ _ = try UnitFile.readScores(missing, groups: groups) }) else {
            Issue.record("a missing file was not refused")
            return
        }
        #expect(why.contains(missing))

        let key = groups[2].moduleKey
        try SafetensorsWriter.write(["score." + key: Tensor([Float](repeating: 1, count: 15) + [.nan], shape: [16])], to: path)
        #expect(Self.error { _ = try UnitFile.readScores(path, groups: groups) } == .nanScore(path: path, tensor: "score." + key, unit: 15))

        try SafetensorsWriter.write(["score." + key: Tensor.ones([16]), "mask." + groups[0].moduleKey: Tensor.ones([4])], to: path)
        #expect(
            Self.error { _ = try UnitFile.readScores(path, groups: groups) }
                == .mixedPrefixes(path: path, first: "mask." + groups[0].moduleKey, second: "score." + key))
        // A scores file given as masks: its score. tensors are not masks.
        try SafetensorsWriter.write(["score." + key: Tensor.ones([16])], to: path)
        let asMasks = Self.error { _ = try UnitFile.readMasks(path, groups: groups) }
        #expect(asMasks == .noUnits(path: path, expected: "mask.<module key>", found: ["score." + key]))
    }
}
