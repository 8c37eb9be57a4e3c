import Foundation
import PruneKit
import PruneNN
import PruneTensor
import Testing

/// The pieces of an export: SHA-256 fingerprints, the atomic directory writer, `prunekit.json`, and the
/// generic writer on a hand-made model.
@Suite struct SurgeryExportWriterTests {
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-\(name)-\(UUID().uuidString)").path
    }

    @Test("SHA-256 matches the FIPS 180-4 test vectors, fed whole or in pieces")
    func sha256Vectors() {
        #expect(SHA256Hasher.hexDigest(of: Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Hasher.hexDigest(of: Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let twoBlocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(SHA256Hasher.hexDigest(of: Data(twoBlocks.utf8)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var hasher = SHA256Hasher()
        let million = Data(repeating: UInt8(ascii: "a"), count: 1_000_000)
        for start in stride(from: 0, to: million.count, by: 777) { hasher.update(million[start..<min(start + 777, million.count)]) }
        #expect(hasher.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("A directory appears only when complete; a failed fill leaves nothing behind")
    func atomicDirectory() throws {
        let parent = Self.temporaryPath("atomic")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let destination = parent + "/export"
        struct Failure: Error {}
        #expect(throws: Failure.self) {
            try AtomicDirectoryWriter.write(to: destination) { directory in
                try Data("half".utf8).write(to: URL(fileURLWithPath: directory + "/a.txt"))
                throw Failure()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: destination))
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent).isEmpty)

        try AtomicDirectoryWriter.write(to: destination) { try Data("one".utf8).write(to: URL(fileURLWithPath: $0 + "/a.txt")) }
        #expect(throws: ExportError.destinationExists(path: URL(fileURLWithPath: destination).standardizedFileURL.path)) {
            try AtomicDirectoryWriter.write(to: destination) { _ in }
        }
        #expect(throws: Failure.self) {
            try AtomicDirectoryWriter.write(to: destination, replacing: true) { _ in throw Failure() }
        }
        #expect(FileManager.default.contents(atPath: destination + "/a.txt") == Data("one".utf8))
        try AtomicDirectoryWriter.write(to: destination, replacing: true) { try Data("two".utf8).write(to: URL(fileURLWithPath: $0 + "/b.txt")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: destination).sorted() == [OutputMarker.directoryMarker, "b.txt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["export"])
    }

    @Test("The generic writer slices, records and fingerprints a hand-made model")
    func genericExport() throws {
        let source = Self.temporaryPath("source")
        let destination = Self.temporaryPath("export")
        defer {
            try? FileManager.default.removeItem(atPath: source)
            try? FileManager.default.removeItem(atPath: destination)
        }
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try SafetensorsWriter.write(SurgeryTests.parameters, to: source + "/diffusion_pytorch_model.safetensors")
        let manifest = try PrunedExport.write(
            parameters: SurgeryTests.parameters, groups: SurgeryTests.groups, selection: SurgeryTests.selection,
            architecture: "HandMade", configuration: Data(#"{"_class_name": "HandMade"}"#.utf8),
            provenance: PruningProvenance(criterion: "hand", target: 0.5, seed: 9, sourceDirectory: source), to: destination)

        let files = Set(try FileManager.default.contentsOfDirectory(atPath: destination))
        #expect(files == [OutputMarker.directoryMarker, "config.json", "diffusion_pytorch_model.safetensors", "masks.safetensors", "prunekit.json"])
        let reread = try ExportManifest.load(directory: destination)
        #expect(reread == manifest)
        #expect(reread.architecture == "HandMade" && reread.criterion == "hand" && reread.target == 0.5 && reread.seed == 9)
        #expect(reread.selection.kept == SurgeryTests.selection.kept)
        #expect(reread.modules.map(\.keptUnits) == [1, 2, 0, 2])
        #expect(reread.units["head"] == ExportManifest.UnitTotals(original: 4, kept: 1))
        #expect(reread.removedParameterCount == 40)
        let digest = try SHA256Hasher.digest(ofFile: source + "/diffusion_pytorch_model.safetensors")
        #expect(reread.source.files == [ExportManifest.FileDigest(name: "diffusion_pytorch_model.safetensors", bytes: digest.bytes, sha256: digest.hex)])

        let weights = try SafetensorsFile.open(destination + "/diffusion_pytorch_model.safetensors")
        #expect(weights.info("single.out.weight")?.shape == [2, 3])
        #expect(weights.info("single.q.weight")?.shape == [0, 3])
        #expect(try weights.tensor("single.out.weight").scalars() == SurgeryTests.entries(6, rows: [0, 1], columns: [2, 4, 5]))
        let masks = try UnitMasks.load(path: destination + "/masks.safetensors")
        #expect(masks["blk.ff"]?.scalars() == [1, 0, 1])
        #expect(masks["single.attn"]?.scalars() == [0, 0])

        #expect(throws: ExportError.destinationExists(path: URL(fileURLWithPath: destination).standardizedFileURL.path)) {
            try PrunedExport.write(
                parameters: SurgeryTests.parameters, groups: SurgeryTests.groups, selection: .keepingAll, architecture: "HandMade",
                configuration: Data("{}".utf8), to: destination)
        }
        #expect(throws: ExportError.surgery(.unknownModule("x"))) {
            try PrunedExport.write(
                parameters: SurgeryTests.parameters, groups: SurgeryTests.groups, selection: UnitSelection(kept: ["x": []]),
                architecture: "HandMade", configuration: Data("{}".utf8), to: Self.temporaryPath("never"))
        }
    }

    @Test("A prunekit.json whose kept list disagrees with its unit counts is rejected")
    func inconsistentManifest() throws {
        let directory = Self.temporaryPath("manifest")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var manifest = ExportManifest(
            architecture: "HandMade", criterion: nil, target: nil, seed: nil,
            source: ExportManifest.Source(name: nil, parameterCount: 10, files: []), parameterCount: 8,
            modules: [ExportManifest.Module(key: "blk.attn", kind: .attentionHead, originalUnits: 2, kept: [1])])
        try manifest.encoded().write(to: URL(fileURLWithPath: directory + "/prunekit.json"))
        #expect(try ExportManifest.load(directory: directory) == manifest)
        manifest.modules[0].kept = [1, 2]
        try manifest.encoded().write(to: URL(fileURLWithPath: directory + "/prunekit.json"))
        #expect(throws: ExportError.self) { try ExportManifest.load(directory: directory) }
        let decoded = try JSONDecoder().decode(UnitSelection.self, from: Data(#"{"kept": {"a": [3, 1, 3]}}"#.utf8))
        #expect(decoded.kept == ["a": [1, 3]])
    }
}
