import Foundation
import PruneKit
import PruneTestSupport
import Testing

@testable import prunekit

/// `prunekit recover` on a pruned fixture.
@Suite struct RecoverCommandTests {
    @Test("recover distils a pruned FLUX fixture with LoRA into a model of the pruned size with a lower distillation loss")
    func recoverWithLoRA() throws {
        let pruned = PruneCommandTests.temporaryPath("pruned")
        let recovered = PruneCommandTests.temporaryPath("recovered")
        let report = PruneCommandTests.temporaryPath("report.json")
        defer { for path in [pruned, recovered, report] { try? FileManager.default.removeItem(atPath: path) } }
        try PruneCommandTests.run([
            "prune", "--model", Fixtures.path("flux-tiny"), "--criterion", "magnitude", "--target", "0.3", "--out", pruned,
        ])
        try PruneCommandTests.run([
            "recover", "--original", Fixtures.path("flux-tiny"), "--pruned", pruned, "--method", "lora", "--rank", "4",
            "--iterations", "20", "--learning-rate", "0.01", "--random-prompts", "1", "--preset", "flux-schnell", "--steps", "2",
            "--height", "64", "--width", "64", "--out", recovered, "--report", report,
        ])
        let before = try ParamsCommand.parse(["--model", pruned]).accounting()
        let after = try ParamsCommand.parse(["--model", recovered]).accounting()
        #expect(after == before)
        let result = try JSONDecoder().decode(RecoveryReport.self, from: Data(contentsOf: URL(fileURLWithPath: report)))
        #expect(result.iterations == 20)
        #expect(result.stepLossAfter < result.stepLossBefore)
    }

    @Test("recover refuses a pruned model of another architecture, naming both")
    func recoverRejectsMismatch() throws {
        let message = PruneCommandTests.failureMessage([
            "recover", "--original", Fixtures.path("flux-tiny"), "--pruned", Fixtures.path("sdxl-tiny"), "--random-prompts", "1",
            "--out", PruneCommandTests.temporaryPath("x"),
        ])
        #expect(message?.contains("--original is a FluxTransformer2DModel but --pruned is a UNet2DConditionModel") == true)
    }
}
