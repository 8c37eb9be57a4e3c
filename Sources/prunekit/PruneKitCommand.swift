import ArgumentParser
import PruneKit

/// `prunekit`: structural pruning of text-to-image diffusion models.
@main
struct PruneKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prunekit",
        abstract: "Structural pruning of SDXL U-Nets and FLUX DiTs: heads and FFN neurons out, a smaller dense model back.",
        subcommands: [ParamsCommand.self, ForwardCommand.self, ImportEcoDiffCommand.self, EncodePromptCommand.self, SampleCommand.self, GenerateCommand.self, PruneCommand.self, AdaptLoRACommand.self, RecoverCommand.self, DemoCompareCommand.self, CriteriaCommand.self, PluginsCommand.self, TrainDemoCommand.self, DemoSampleCommand.self])

    /// Runs the command line. Interrupts remove half-written outputs first (see `OutputInterrupts`).
    static func main() {
        OutputInterrupts.install()
        main(nil)
    }
}
