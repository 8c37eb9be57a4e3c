import ArgumentParser
import Foundation
import PruneKit
import Testing

@testable import prunekit

/// `--units` of `prune` and `demo-compare`.
@Suite struct UnitKindsOptionTests {
    @Test("--units takes heads, neurons and blocks in any combination, or all; heads,neurons by default")
    func parses() throws {
        #expect(UnitKindsOption(argument: "blocks")?.kinds == [.block])
        #expect(UnitKindsOption(argument: "heads, blocks")?.kinds == [.attentionHead, .block])
        #expect(UnitKindsOption(argument: "all")?.kinds == [.attentionHead, .feedForwardNeuron, .block])
        #expect(UnitKindsOption(argument: "all")?.description == "heads,neurons,blocks")
        #expect(UnitKindsOption(argument: "neuron")?.kinds == [.feedForwardNeuron])  // the prunekit.json kind names too
        for bad in ["", "layers", "heads,,blocks", "heads;blocks"] { #expect(UnitKindsOption(argument: bad) == nil) }
        let model = FileManager.default.temporaryDirectory.path, out = "/proc/never-\(UUID().uuidString)"
        #expect(try PruneCommand.parse(["--model", model, "--out", out]).units == .standard)
        #expect(try PruneCommand.parse(["--model", model, "--out", out, "--units", "all"]).units.kinds.count == 3)
    }

    @Test("a bad --units value, or --units with --masks, is a usage error before any work")
    func refusals() throws {
        #expect(throws: (any Error).self) { try PruneCommand.parseAsRoot(["--model", "x", "--out", "y", "--units", "layers"]) }
        let masks = FileManager.default.temporaryDirectory.appendingPathComponent("units-\(UUID().uuidString).safetensors").path
        FileManager.default.createFile(atPath: masks, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: masks) }
        do {
            _ = try PruneCommand.parse(["--model", "/", "--out", "/tmp/never-\(UUID().uuidString)", "--masks", masks, "--units", "blocks"])
            Issue.record("--units with --masks was accepted")
        } catch {
            #expect(PruneCommand.message(for: error).contains("--units cannot be used with it"))
        }
    }
}
