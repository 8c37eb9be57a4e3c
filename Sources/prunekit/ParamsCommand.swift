import ArgumentParser
import Foundation
import PruneFlux
import PruneKit
import PruneSDXL

/// `prunekit params`: parameters, attention heads and FFN neurons of a preset or a model directory.
struct ParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params", abstract: "Count parameters, attention heads and FFN neurons.")

    @Option(help: "A named configuration: \(ModelPreset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preset: ModelPreset?

    @Option(help: "A diffusers model directory (config.json + safetensors).")
    var model: String?

    @Flag(help: "Print JSON with the fields parameters, heads, ffn_neurons.")
    var json = false

    func validate() throws {
        guard (preset == nil) != (model == nil) else { throw ValidationError("give exactly one of --preset or --model") }
    }

    /// The counts for the chosen preset or model directory.
    func accounting() throws -> ModelAccounting {
        if let preset {
            switch preset.denoiser {
            case .unet(let configuration): return try UNet2DConditionModel.accounting(of: configuration)
            case .flux(let configuration): return FluxParameterAccounting(configuration: configuration).summary
            }
        }
        return try LoadedModel.load(directory: model!).accounting
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
