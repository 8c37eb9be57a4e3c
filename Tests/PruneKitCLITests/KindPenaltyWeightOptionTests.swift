import ArgumentParser
import Foundation
import PruneKit
import Testing

@testable import prunekit

/// `prune --kind-penalty-weight KIND=β`.
@Suite struct KindPenaltyWeightOptionTests {
    static let model = FileManager.default.temporaryDirectory.path
    static func out() -> String { "/proc/never-\(UUID().uuidString)" }

    @Test("--kind-penalty-weight takes KIND=β for heads, neurons, modulation and blocks; bad kinds and values are refused")
    func parses() throws {
        #expect(KindPenaltyWeightOption(argument: "heads=0.01") == KindPenaltyWeightOption(argument: "head=1e-2"))
        #expect(KindPenaltyWeightOption(argument: "modulation=0")?.kind == .modulationOutput)
        #expect(KindPenaltyWeightOption(argument: "neurons = 0.5")?.description == "neurons=0.5")
        for bad in ["", "heads", "heads=", "=1", "layers=1", "heads=-1", "heads=nan", "heads=inf", "heads=1=2"] {
            #expect(KindPenaltyWeightOption(argument: bad) == nil, "\(bad)")
        }
        let command = try PruneCommand.parse(
            ["--model", Self.model, "--out", Self.out(), "--kind-penalty-weight", "heads=0.01", "--kind-penalty-weight", "neurons=0.001"])
        #expect(try KindPenaltyWeightOption.weights(command.kindPenaltyWeight) == [.attentionHead: 0.01, .feedForwardNeuron: 0.001])
        #expect(command.checkpointing.identity["prunekit.kind_penalty_weights"] == "heads=0.01,neurons=0.001")
    }

    @Test("a kind given twice, or --kind-penalty-weight with --masks, is a usage error naming the flag")
    func refusals() throws {
        do {
            _ = try PruneCommand.parse(
                ["--model", Self.model, "--out", Self.out(), "--kind-penalty-weight", "heads=1", "--kind-penalty-weight", "head=2"])
            Issue.record("a kind given twice was accepted")
        } catch {
            #expect(PruneCommand.message(for: error).contains("--kind-penalty-weight names head twice"))
        }
        let masks = FileManager.default.temporaryDirectory.appendingPathComponent("kpw-\(UUID().uuidString).safetensors").path
        FileManager.default.createFile(atPath: masks, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: masks) }
        do {
            _ = try PruneCommand.parse(["--model", "/", "--out", Self.out(), "--masks", masks, "--kind-penalty-weight", "heads=1"])
            Issue.record("--kind-penalty-weight with --masks was accepted")
        } catch {
            #expect(PruneCommand.message(for: error).contains("--kind-penalty-weight"))
        }
    }
}
