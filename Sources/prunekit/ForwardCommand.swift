import ArgumentParser
import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// `prunekit forward`: one denoiser call on inputs named like diffusers' forward arguments.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run the denoiser once and write its output.",
        discussion: """
            SDXL inputs: sample, timestep, encoder_hidden_states, text_embeds, time_ids (timestep_cond for LCM-style). \
            FLUX inputs: hidden_states, timestep, encoder_hidden_states, pooled_projections, img_ids, txt_ids, guidance. \
            Extra tensors are ignored. Masks are named mask.<module key>, one value per head or neuron.
            """)

    @Option(help: "A diffusers model directory.") var model: String
    @Option(help: "A safetensors file with the forward inputs.") var inputs: String
    @Option(help: "Where to write the safetensors file holding `output`.") var output: String
    @Option(help: "A safetensors file of unit masks (mask.<module key>).") var masks: String?
    @Flag(help: "Replace an existing --output written by PruneKit (nothing else is ever replaced).") var overwrite = false
    @OptionGroup var plugins: PluginOptions

    var outputRequests: [OutputRequest] { [OutputRequest(flag: "--output", path: output, kind: .file(.safetensors))] }
    var inputPaths: [InputPath] {
        CommandOutputs.inputs([("--model", model), ("--inputs", inputs), ("--masks", masks)]) + CommandOutputs.inputs(plugins: plugins)
    }

    func validate() throws { try CommandOutputs.validate(outputRequests, inputs: inputPaths) }

    func run() throws {
        let claim = try CommandOutputs.claim(outputRequests, inputs: inputPaths, overwrite: overwrite)
        defer { claim.release() }
        let loaded = try Architectures.loadModel(directory: model)
        let inputFile = try SafetensorsFile.open(inputs)
        let unitMasks = try masks.map(UnitMasks.load(path:)) ?? .none
        var tensors: [String: Tensor] = [:]
        for name in loaded.forwardInputNames where inputFile.contains(name) { tensors[name] = try inputFile.tensor(name) }
        let result: Tensor
        do {
            result = try withoutGradients { try loaded.forward(tensors, masks: unitMasks) }
        } catch let error as PrunableModelError {
            throw CLIError.invalidFile(path: inputs, reason: error.description)
        }
        try SafetensorsWriter.write(["output": result], metadata: ["prunekit.output": "forward"], to: output)
    }
}
