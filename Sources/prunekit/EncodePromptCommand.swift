import ArgumentParser
import Foundation
import PruneKit
import PrunePipelines
import PruneTensor

/// `prunekit encode-prompt`: a prompt through a pipeline's own tokenizers and text encoders, written under
/// diffusers' names — what `StableDiffusionXLPipeline.encode_prompt` / `FluxPipeline.encode_prompt` return.
struct EncodePromptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode-prompt",
        abstract: "Encode a prompt with a pipeline's own text encoders and write the conditioning tensors.",
        discussion: """
            --model is a diffusers pipeline folder (SDXL or FLUX: model_index.json with tokenizers and text encoders) \
            or an SDXL single-file checkpoint (both text encoders inside; its tokenizers are the real CLIP vocabulary \
            bundled with PruneKit, or --tokenizer DIR's tokenizer/ and tokenizer_2/). Writes prompt_embeds and \
            pooled_prompt_embeds [1, …], and negative_prompt_embeds / negative_pooled_prompt_embeds: SDXL always (zeros \
            when no --negative-prompt is given and the pipeline forces zeros for an empty prompt, as diffusers does); \
            FLUX only with --negative-prompt (true classifier-free guidance). The file is what `sample --embeddings` \
            and `prune --embeddings` read.
            """)

    @Option(help: "A diffusers pipeline folder (SDXL or FLUX) or an SDXL single-file checkpoint.") var model: String
    @Option(help: "The prompt.") var prompt: String
    @Option(help: "The negative prompt (SDXL: default none, i.e. zeros; FLUX: encoded only when given).") var negativePrompt: String?
    @Option(help: "FLUX: T5 tokens (1…512, default 512).") var maxSequenceLength: Int?
    @Option(help: "SDXL: skip this many final CLIP layers (diffusers' clip_skip).") var clipSkip: Int?
    @Option(help: "A pipeline folder whose tokenizer/ and tokenizer_2/ to use instead of the model's (or of the bundled CLIP vocabulary for a single file).")
    var tokenizer: String?
    @Option(help: "Where to write the safetensors file.") var output: String
    @Flag(help: "Replace an existing --output written by PruneKit (nothing else is ever replaced).") var overwrite = false

    var outputRequests: [OutputRequest] { [OutputRequest(flag: "--output", path: output, kind: .file(.safetensors))] }
    var inputPaths: [InputPath] { CommandOutputs.inputs([("--model", model), ("--tokenizer", tokenizer)]) }

    func validate() throws {
        guard PipelineTextConditioning.canLoad(model) else {
            throw ValidationError(
                "--model \(model) is not a diffusers pipeline folder (no model_index.json) or an SDXL single-file checkpoint, so it has no text encoders")
        }
        if let maxSequenceLength, !(1...512).contains(maxSequenceLength) {
            throw ValidationError("--max-sequence-length must be in 1…512, got \(maxSequenceLength)")
        }
        if let clipSkip, clipSkip < 0 { throw ValidationError("--clip-skip must be 0 or more, got \(clipSkip)") }
        try CommandOutputs.validate(outputRequests, inputs: inputPaths)
    }

    func run() throws {
        let claim = try CommandOutputs.claim(outputRequests, inputs: inputPaths, overwrite: overwrite)
        defer { claim.release() }
        let started = Date()
        let conditioning = try PipelineTextConditioning.load(model, tokenizers: tokenizer)
        printProgress(String(format: "loaded the %@ text encoders (%.1f s)", conditioning.familyName, Date().timeIntervalSince(started)))
        let tensors = try withoutGradients {
            try conditioning.encode(prompt: prompt, negativePrompt: negativePrompt, maxSequenceLength: maxSequenceLength, clipSkip: clipSkip)
        }
        var metadata = ["prunekit.output": "encode-prompt", "prunekit.prompt": prompt]
        if let negativePrompt { metadata["prunekit.negative_prompt"] = negativePrompt }
        try SafetensorsWriter.write(tensors, metadata: metadata, to: output)
        for name in tensors.keys.sorted() { print("\(name) \(tensors[name]!.shape)") }
        printProgress(String(format: "wrote %@ (%.1f s)", output, Date().timeIntervalSince(started)))
    }
}
