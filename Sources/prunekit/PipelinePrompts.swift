import Foundation
import PruneKit
import PrunePipelines
import PruneTensor

/// Prompts → conditioning through a pipeline's own tokenizers and text encoders, for the commands that take
/// prompt text with a pipeline folder or SDXL single file as `--model` (`prune --prompts`, `sample --prompt`).
/// The encoders are loaded, run once per prompt and released before the function returns, so none of their
/// weights stay resident while the denoiser works.
enum PipelinePrompts {
    /// Options shared by the commands.
    struct Options {
        var negativePrompt: String?
        var maxSequenceLength: Int?
        var tokenizer: String?
    }

    /// Each prompt's conditioning under diffusers' names, with progress on stderr.
    static func encode(_ prompts: [String], model: String, options: Options) throws -> [PromptConditioning] {
        let started = Date()
        let conditioning = try PipelineTextConditioning.load(model, tokenizers: options.tokenizer)
        printProgress(String(format: "loaded the %@ text encoders of %@ (%.1f s)", conditioning.familyName, model, Date().timeIntervalSince(started)))
        var result: [PromptConditioning] = []
        for (index, prompt) in prompts.enumerated() {
            let tensors = try withoutGradients {
                try conditioning.encode(prompt: prompt, negativePrompt: options.negativePrompt, maxSequenceLength: options.maxSequenceLength)
            }
            result.append(PromptConditioning(tensors, source: "prompt \(index + 1) (\(prompt.prefix(40)))"))
            let elapsed = Date().timeIntervalSince(started)
            printProgress(
                String(
                    format: "encoded prompt %d/%d (%.1f s, ETA %.0fs)", index + 1, prompts.count, elapsed,
                    elapsed / Double(index + 1) * Double(prompts.count - index - 1)))
        }
        return result
    }
}
