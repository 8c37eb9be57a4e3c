import ArgumentParser
import Foundation
import PruneFlux
import PruneNN
import PruneSDXL
import PruneTensor

/// `prunekit forward`: one denoiser call on inputs named like diffusers' forward arguments.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run the denoiser once and write its output.",
        discussion: """
            SDXL inputs: sample, timestep, encoder_hidden_states, text_embeds, time_ids. \
            FLUX inputs: hidden_states, timestep, encoder_hidden_states, pooled_projections, img_ids, txt_ids, guidance. \
            Extra tensors are ignored. Masks are named mask.<module key>, one value per head or neuron.
            """)

    @Option(help: "A diffusers model directory.") var model: String
    @Option(help: "A safetensors file with the forward inputs.") var inputs: String
    @Option(help: "Where to write the safetensors file holding `output`.") var output: String
    @Option(help: "A safetensors file of unit masks (mask.<module key>).") var masks: String?

    func run() throws {
        let loaded = try LoadedModel.load(directory: model)
        let inputFile = try SafetensorsFile.open(inputs)
        let unitMasks = try masks.map(UnitMasks.load(path:)) ?? .none
        func input(_ name: String) throws -> Tensor {
            guard inputFile.contains(name) else { throw CLIError.missingInput(path: inputs, name: name) }
            return try inputFile.tensor(name)
        }
        func optional(_ name: String) throws -> Tensor? { inputFile.contains(name) ? try inputFile.tensor(name) : nil }
        let result: Tensor
        switch loaded {
        case .unet(let unet, _):
            let unetInputs = UNetInputs(
                sample: try input("sample"), timestep: try input("timestep"),
                encoderHiddenStates: try input("encoder_hidden_states"), textEmbeds: try optional("text_embeds"),
                timeIDs: try optional("time_ids"), timestepCondition: try optional("timestep_cond"))
            result = try withoutGradients { try unet(unetInputs, masks: unitMasks) }
        case .flux(let flux, _):
            let fluxInputs = FluxInputs(
                hiddenStates: try input("hidden_states"), encoderHiddenStates: try input("encoder_hidden_states"),
                pooledProjections: try input("pooled_projections"), timestep: try input("timestep"),
                imageIDs: try input("img_ids"), textIDs: try input("txt_ids"), guidance: try optional("guidance"))
            result = try withoutGradients { try flux(fluxInputs, masks: unitMasks) }
        }
        try SafetensorsWriter.write(["output": result], to: output)
    }
}
