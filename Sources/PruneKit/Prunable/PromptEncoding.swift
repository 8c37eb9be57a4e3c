import Foundation

/// A ``PrunableModel`` that carries its own text encoder, so calibration can start from prompt text
/// (`prunekit prune --prompts FILE`) instead of precomputed embeddings. The embedded demo models conform;
/// SDXL and FLUX checkpoints do not (their CLIP/T5 encoders are not part of PruneKit), so they take
/// `--embeddings`.
public protocol PromptEncoding {
    /// The conditioning of each prompt, as ``PrunableModel/trajectory(conditioning:settings:seed:)`` reads it.
    /// - Throws: when a prompt cannot be encoded (an unknown word, say), naming it.
    func encode(prompts: [String]) throws -> [PromptConditioning]
}

/// Reads prompt files: one prompt per line; blank lines and lines starting with `#` are skipped.
public enum PromptFile {
    /// The prompts of `text`.
    public static func prompts(in text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}
