import ArgumentParser
import Foundation
import PruneKit
import PruneNN
import PrunePipelines
import PruneTensor

/// `prunekit sample`: the full sampling loop from noise to final latents.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Run the denoising loop and write the final latents.",
        discussion: """
            Any architecture samples through its own trajectory: SDXL, FLUX, and plugin architectures (--plugin). \
            Embeddings are named as diffusers' pipelines name them: prompt_embeds, negative_prompt_embeds, \
            pooled_prompt_embeds, negative_pooled_prompt_embeds (SDXL); prompt_embeds, pooled_prompt_embeds (FLUX); \
            a plugin architecture's own names. --noise takes a file holding `latents` (SDXL: the unscaled \
            standard-normal noise [1, C, h, w]; FLUX: packed noise [1, tokens, C·4]); otherwise noise is drawn from \
            --seed, and any noise a scheduler injects per step from --seed + 1.
            """)

    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Where to write the final `latents`.") var output: String
    @Flag(help: "Also write every step's latents as trace.<i>.") var trace = false
    @Flag(help: "Replace an existing --output written by PruneKit (nothing else is ever replaced).") var overwrite = false
    @OptionGroup var plugins: PluginOptions

    var outputRequests: [OutputRequest] { [OutputRequest(flag: "--output", path: output, kind: .file(.safetensors))] }
    var inputPaths: [InputPath] { sampling.inputPaths + CommandOutputs.inputs(plugins: plugins) }

    func validate() throws {
        try CommandOutputs.validate(outputRequests, inputs: inputPaths)
    }

    func run() throws {
        let claim = try CommandOutputs.claim(outputRequests, inputs: inputPaths, overwrite: overwrite)
        defer { claim.release() }
        let result = try sampling.run(trace: trace)
        try SafetensorsWriter.write(
            result.tensors,
            metadata: [
                "prunekit.output": "sample", "preset": result.preset?.rawValue ?? "none", "steps": String(result.steps), "seed": String(sampling.seed),
            ],
            to: output)
        print("wrote \(output)")
    }
}

/// A progress line on standard error (standard output stays machine-readable); in a data-parallel run only
/// rank 0 prints.
func printProgress(_ message: String) {
    guard DataParallelLaunch.printsProgress else { return }
    FileHandle.standardError.write(Data("\(message)\n".utf8))
}
