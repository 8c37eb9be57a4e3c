import Foundation
import PruneKit
import PruneTensor
import Testing

/// The output-safety rule's pieces on their own: path resolution, the refusals, markers, locks, stale
/// temporaries, and the atomic directory writer's refusal to replace what PruneKit did not write.
/// (`PruneKitCLITests/OutputSafetyCLITests` runs the same rule through every command.)
@Suite struct OutputSafetyTests {
    /// A fresh scratch folder (resolved, so `/tmp` links do not matter), removed by the caller.
    static func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-safety-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return ResolvedPath(path)!.path
    }

    /// Protected places for a test: the working directory `root/work/here`, the home directory `root/home`.
    static func places(_ root: String) -> ProtectedPlaces {
        ProtectedPlaces(workingDirectory: ResolvedPath(root + "/work/here")!, home: ResolvedPath(root + "/home"))
    }

    @Test("Paths resolve relative to the working directory, through symbolic links and `..`, also past what exists")
    func resolution() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/real/inner", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: "real/inner")
        #expect(ResolvedPath("") == nil)
        #expect(ResolvedPath("a/./b/../c", workingDirectory: "/x/y")?.path == "/x/y/a/c")
        #expect(ResolvedPath("../..", workingDirectory: "/x")?.path == "/")
        #expect(ResolvedPath(root + "/link/new/file")?.path == root + "/real/inner/new/file")
        // `..` after a link goes to the link target's parent, as the kernel does.
        #expect(ResolvedPath(root + "/link/..")?.path == root + "/real")
        try FileManager.default.createSymbolicLink(atPath: root + "/loop", withDestinationPath: "loop")
        #expect(ResolvedPath(root + "/loop/x") != nil)
    }

    @Test("An empty output, the root, the home and working directories and folders holding them are refused")
    func protectedPlaces() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let places = Self.places(root)
        func refusal(_ path: String) -> OutputSafetyError? {
            do { try OutputGuard.check([OutputRequest(flag: "--out", path: path, kind: .directory)], inputs: [], places: places) } catch {
                return error
            }
            return nil
        }
        #expect(refusal("") == .empty(flag: "--out"))
        #expect(refusal("/") == .protected(flag: "--out", path: "/", what: "the root directory"))
        #expect(refusal(".") == .protected(flag: "--out", path: ".", what: "the working directory"))
        #expect(refusal("sub/..") == .protected(flag: "--out", path: "sub/..", what: "the working directory"))
        #expect(refusal("..") == .protected(flag: "--out", path: "..", what: "a folder that contains the working directory"))
        #expect(refusal(root + "/home") == .protected(flag: "--out", path: root + "/home", what: "your home directory"))
        #expect(refusal("out") == nil)
        #expect(refusal(root + "/home/pruned") == nil)
    }

    @Test("An output equal to an input, inside an input folder, or holding an input is refused; so are overlapping outputs")
    func overlaps() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let places = Self.places(root)
        try FileManager.default.createDirectory(atPath: root + "/models/m", withIntermediateDirectories: true)
        try Data("w".utf8).write(to: URL(fileURLWithPath: root + "/models/m/w.safetensors"))
        try FileManager.default.createSymbolicLink(atPath: root + "/alias", withDestinationPath: root + "/models/m")
        try FileManager.default.linkItem(atPath: root + "/models/m/w.safetensors", toPath: root + "/hard.safetensors")
        let model = InputPath(flag: "--model", path: root + "/models/m")
        func refusal(_ path: String, kind: OutputRequest.Kind = .directory) -> OutputSafetyError? {
            do { try OutputGuard.check([OutputRequest(flag: "--out", path: path, kind: kind)], inputs: [model], places: places) } catch {
                return error
            }
            return nil
        }
        #expect(refusal(root + "/models/m") == .overlapsInput(flag: "--out", path: root + "/models/m", overlap: .same, inputFlag: "--model", inputPath: model.path))
        #expect(refusal(root + "/alias") == .overlapsInput(flag: "--out", path: root + "/alias", overlap: .same, inputFlag: "--model", inputPath: model.path))
        #expect(refusal(root + "/models/m/../m/x.safetensors", kind: .file(.safetensors))
            == .overlapsInput(flag: "--out", path: root + "/models/m/../m/x.safetensors", overlap: .inside, inputFlag: "--model", inputPath: model.path))
        #expect(refusal(root + "/models") == .overlapsInput(flag: "--out", path: root + "/models", overlap: .contains, inputFlag: "--model", inputPath: model.path))
        // A hard link to an input file is the same file.
        do {
            try OutputGuard.check(
                [OutputRequest(flag: "--output", path: root + "/hard.safetensors", kind: .file(.safetensors))],
                inputs: [InputPath(flag: "--inputs", path: root + "/models/m/w.safetensors")], places: places)
            Issue.record("a hard link to an input was accepted as an output")
        } catch {
            #expect(error == .overlapsInput(flag: "--output", path: root + "/hard.safetensors", overlap: .same, inputFlag: "--inputs", inputPath: root + "/models/m/w.safetensors"))
        }
        #expect(refusal(root + "/models-pruned") == nil)
        #expect(throws: OutputSafetyError.overlapsOutput(flag: "--checkpoint", path: root + "/o/c.safetensors", overlap: .inside, otherFlag: "--out", otherPath: root + "/o")) {
            try OutputGuard.check(
                [OutputRequest(flag: "--out", path: root + "/o", kind: .directory),
                 OutputRequest(flag: "--checkpoint", path: root + "/o/c.safetensors", kind: .file(.safetensors))],
                inputs: [], places: places)
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/o"), "checking creates nothing")
    }

    @Test("--overwrite replaces only outputs that carry PruneKit's marker, of the kind asked for")
    func overwriteNeedsTheMarker() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let places = Self.places(root)
        func claim(_ path: String, _ kind: OutputRequest.Kind, overwrite: Bool) -> OutputSafetyError? {
            do { _ = try OutputGuard.claim([OutputRequest(flag: "--out", path: path, kind: kind)], inputs: [], overwrite: overwrite, places: places) } catch {
                return error
            }
            return nil
        }
        let user = root + "/user"
        try FileManager.default.createDirectory(atPath: user, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: user + "/notes.txt"))
        #expect(claim(user, .directory, overwrite: true) == .notPruneKitOutput(flag: "--out", path: user, holds: "it holds notes.txt"))
        #expect(claim(user + "/notes.txt", .directory, overwrite: true)
            == .notPruneKitOutput(flag: "--out", path: user + "/notes.txt", holds: "it is a regular file, not a folder"))
        #expect(claim(user + "/notes.txt", .file(.json), overwrite: true)
            == .notPruneKitOutput(flag: "--out", path: user + "/notes.txt", holds: "a 8-byte file without PruneKit's json marker"))

        let export = root + "/export"
        try AtomicDirectoryWriter.write(to: export, kind: "export") { _ in }
        #expect(claim(export, .directory, overwrite: false) == .exists(flag: "--out", path: export))
        #expect(claim(export, .directory, overwrite: true) == nil)

        let latents = root + "/latents.safetensors"
        try SafetensorsWriter.write(["x": Tensor([1], shape: [1])], to: latents)
        #expect(claim(latents, .file(.safetensors), overwrite: true)
            == .notPruneKitOutput(flag: "--out", path: latents, holds: "a \(try FileManager.default.attributesOfItem(atPath: latents)[.size] as! Int)-byte file without PruneKit's safetensors marker"))
        try SafetensorsWriter.write(["x": Tensor([1], shape: [1])], metadata: ["prunekit.output": "sample"], to: latents)
        #expect(claim(latents, .file(.safetensors), overwrite: true) == nil)
        #expect(claim(latents, .file(.safetensors), overwrite: false) == .exists(flag: "--out", path: latents))
        let checkpoint = OutputRequest(flag: "--checkpoint", path: latents, kind: .file(.safetensors), continues: true)
        #expect((try? OutputGuard.claim([checkpoint], inputs: [], overwrite: false, places: places)) != nil, "a resumed checkpoint is continued")

        let fifo = root + "/fifo"
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(claim(fifo, .file(.safetensors), overwrite: true) == .notPruneKitOutput(flag: "--out", path: fifo, holds: "it is a FIFO, not a regular file"))
    }

    @Test("Each file format's marker is recognised, and a look-alike without it is not")
    func fileMarkers() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let marked = OutputMarker.marking(json: try encoder.encode(["a": 1]), kind: "test")
        #expect((try JSONSerialization.jsonObject(with: marked) as? [String: Any])?["a"] as? Int == 1)
        let empty = OutputMarker.marking(json: try encoder.encode([String: Int]()), kind: "test")
        #expect((try JSONSerialization.jsonObject(with: empty) as? [String: Any])?.count == 1)
        try marked.write(to: URL(fileURLWithPath: root + "/m.json"))
        try encoder.encode(["a": 1]).write(to: URL(fileURLWithPath: root + "/plain.json"))
        #expect(OutputMarker.isPruneKitFile(root + "/m.json", format: .json))
        #expect(!OutputMarker.isPruneKitFile(root + "/plain.json", format: .json))
        try Data(OutputMarker.marking(markdown: "# T\n", kind: "test").utf8).write(to: URL(fileURLWithPath: root + "/m.md"))
        try Data("# T\n".utf8).write(to: URL(fileURLWithPath: root + "/plain.md"))
        #expect(OutputMarker.isPruneKitFile(root + "/m.md", format: .markdown))
        #expect(!OutputMarker.isPruneKitFile(root + "/plain.md", format: .markdown))
        #expect(!OutputMarker.isPruneKitFile(root + "/m.md", format: .safetensors), "a file of another format is not a PruneKit safetensors file")
        #expect(!OutputMarker.isPruneKitFile(root + "/missing.png", format: .png))
    }

    @Test("A second claim of a locked output fails at once, and succeeds after the first is released")
    func exclusiveClaims() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let places = Self.places(root)
        let request = OutputRequest(flag: "--out", path: root + "/out", kind: .directory)
        let first = try OutputGuard.claim([request], inputs: [], overwrite: false, places: places)
        #expect(FileManager.default.fileExists(atPath: root + "/.out.lock"))
        #expect(throws: OutputSafetyError.busy(flag: "--out", path: root + "/out", holder: String(getpid()))) {
            try OutputGuard.claim([request], inputs: [], overwrite: false, places: places)
        }
        first.release()
        #expect(!FileManager.default.fileExists(atPath: root + "/.out.lock"), "releasing removes the lock file")
        let second = try OutputGuard.claim([request], inputs: [], overwrite: false, places: places)
        second.release()
    }

    @Test("Temporaries of the same output left by a killed run are removed by the next claim, and reported")
    func staleTemporaries() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/.out.tmp-abc/inner", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/.out.tmp-def"))
        try manager.createDirectory(atPath: root + "/.other.tmp-abc", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: root + "/.out.old-abc", withIntermediateDirectories: true)
        let claim = try OutputGuard.claim(
            [OutputRequest(flag: "--out", path: root + "/out", kind: .directory)], inputs: [], overwrite: false, places: Self.places(root))
        defer { claim.release() }
        #expect(!manager.fileExists(atPath: root + "/.out.tmp-abc") && !manager.fileExists(atPath: root + "/.out.tmp-def"))
        #expect(manager.fileExists(atPath: root + "/.other.tmp-abc"), "another output's temporary is left alone")
        #expect(manager.fileExists(atPath: root + "/.out.old-abc"), "a set-aside previous output is kept while the output is missing")
        #expect(claim.notes.count == 3)
        #expect(claim.notes.contains { $0.contains(".out.old-abc") && $0.contains("rename it back") })
    }

    @Test("The atomic directory writer marks what it writes and never replaces a folder without the marker")
    func writerReplacesOnlyMarkedFolders() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let user = root + "/user"
        try FileManager.default.createDirectory(atPath: user, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: user + "/notes.txt"))
        #expect(throws: ExportError.notPruneKitOutput(path: user)) {
            try AtomicDirectoryWriter.write(to: user, replacing: true) { _ in }
        }
        #expect(FileManager.default.contents(atPath: user + "/notes.txt") == Data("precious".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["user"], "the refused write leaves no temporary")

        try AtomicDirectoryWriter.write(to: root + "/made", kind: "report") { _ in }
        #expect(OutputMarker.isPruneKitDirectory(root + "/made"))
        try AtomicDirectoryWriter.write(to: root + "/made", replacing: true, kind: "report") { try Data("2".utf8).write(to: URL(fileURLWithPath: $0 + "/two")) }
        #expect(FileManager.default.fileExists(atPath: root + "/made/two"))
    }

    @Test("Writers register their temporaries while they exist, so an interrupt can remove them")
    func temporariesAreRegistered() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var seen: [String] = []
        try AtomicDirectoryWriter.write(to: root + "/out") { temporary in
            seen = TemporaryOutputs.entries.map(\.path).filter { $0.hasPrefix(root) }
            #expect(seen == [temporary])
        }
        #expect(seen.count == 1)
        #expect(TemporaryOutputs.entries.allSatisfy { !$0.path.hasPrefix(root) }, "finished writes unregister")
        // An interrupt's clean-up removes a registered temporary.
        let stray = root + "/.x.tmp-1"
        try FileManager.default.createDirectory(atPath: stray + "/deep", withIntermediateDirectories: true)
        let token = TemporaryOutputs.register(stray)
        let removed = OutputInterrupts.cleanUp(matching: { $0.hasPrefix(root) }, removingLocks: false)
        TemporaryOutputs.unregister(token)
        #expect(removed == [stray])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["out"])
    }
}
