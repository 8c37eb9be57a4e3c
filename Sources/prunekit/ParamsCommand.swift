import ArgumentParser
import Foundation
import PruneKit

/// `prunekit params`: parameters, attention heads and FFN neurons of a preset or a model directory.
struct ParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params", abstract: "Count parameters, attention heads and FFN neurons.")

    @Option(help: "A named configuration: \(Architectures.registry.presets.map(\.preset.name).joined(separator: ", ")).")
    var preset: String?

    @Option(help: "A diffusers model directory (config.json + safetensors).")
    var model: String?

    @OptionGroup var plugins: PluginOptions

    @Flag(help: "Print JSON with the fields parameters, heads, ffn_neurons.")
    var json = false

    func validate() throws {
        guard (preset == nil) != (model == nil) else { throw ValidationError("give exactly one of --preset or --model") }
    }

    /// The counts for the chosen preset or model directory.
    func accounting() throws -> ModelAccounting {
        if let preset {
            let (architecture, descriptor) = try Architectures.registry.preset(named: preset)
            return try architecture.accounting(preset: descriptor.name)
        }
        return try Architectures.loadModel(directory: model!).accounting
    }

    func run() throws {
        let accounting = try accounting()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(accounting), as: UTF8.self))
        } else {
            print("parameters   \(accounting.parameters)")
            print("heads        \(accounting.heads)")
            print("ffn_neurons  \(accounting.ffnNeurons)")
        }
    }
}
