import Foundation

/// The few SDXL hyperparameters a single-file checkpoint's tensor shapes cannot tell: attention head widths
/// and GroupNorm group counts. The defaults are SDXL's (SGM `sd_xl_base.yaml`: `num_head_channels: 64`,
/// GroupNorm 32 everywhere; OpenAI CLIP-L and OpenCLIP bigG use 64-wide heads).
///
/// A file may carry other values in its safetensors `__metadata__` under ``metadataKey`` as a JSON object
/// with any of the keys `unet_attention_head_width`, `unet_norm_num_groups`, `text_encoder_head_width`,
/// `vae_norm_num_groups` — PruneKit's own convention, for test-sized files and future pruned single-file
/// exports (other tools ignore it). Values passed by the caller override both.
public struct SDXLHyperparameters: Sendable, Equatable, Codable {
    /// The `__metadata__` key PruneKit reads.
    public static let metadataKey = "prunekit.sdxl_hyperparameters"

    /// Channels per U-Net attention head (SDXL: 64; heads = block width / 64).
    public var unetAttentionHeadWidth: Int = 64
    /// U-Net GroupNorm groups (SDXL: 32).
    public var unetNormNumGroups: Int = 32
    /// Channels per text-encoder attention head, both encoders (CLIP-L 768/12 and bigG 1280/20 are 64).
    public var textEncoderHeadWidth: Int = 64
    /// VAE GroupNorm groups (SDXL: 32).
    public var vaeNormNumGroups: Int = 32

    public init() {}

    enum CodingKeys: String, CodingKey {
        case unetAttentionHeadWidth = "unet_attention_head_width", unetNormNumGroups = "unet_norm_num_groups"
        case textEncoderHeadWidth = "text_encoder_head_width", vaeNormNumGroups = "vae_norm_num_groups"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = SDXLHyperparameters()
        unetAttentionHeadWidth = try c.decodeIfPresent(Int.self, forKey: .unetAttentionHeadWidth) ?? defaults.unetAttentionHeadWidth
        unetNormNumGroups = try c.decodeIfPresent(Int.self, forKey: .unetNormNumGroups) ?? defaults.unetNormNumGroups
        textEncoderHeadWidth = try c.decodeIfPresent(Int.self, forKey: .textEncoderHeadWidth) ?? defaults.textEncoderHeadWidth
        vaeNormNumGroups = try c.decodeIfPresent(Int.self, forKey: .vaeNormNumGroups) ?? defaults.vaeNormNumGroups
    }

    /// The values recorded in a file's `__metadata__`, SDXL's defaults for the rest.
    /// - Throws: ``PipelineError/badJSON(path:reason:)`` when the entry is present but not such an object.
    public static func recorded(in metadata: [String: String], path: String) throws(PipelineError) -> SDXLHyperparameters {
        guard let text = metadata[metadataKey] else { return SDXLHyperparameters() }
        do {
            let values = try JSONDecoder().decode(SDXLHyperparameters.self, from: Data(text.utf8))
            for (name, value) in [
                ("unet_attention_head_width", values.unetAttentionHeadWidth), ("unet_norm_num_groups", values.unetNormNumGroups),
                ("text_encoder_head_width", values.textEncoderHeadWidth), ("vae_norm_num_groups", values.vaeNormNumGroups),
            ] where value < 1 {
                throw PipelineError.badJSON(path: path, reason: "__metadata__ \(metadataKey): \(name) = \(value), must be positive")
            }
            return values
        } catch let error as PipelineError {
            throw error
        } catch {
            throw .badJSON(path: path, reason: "__metadata__ \(metadataKey) is not a JSON object of positive integers: \(error)")
        }
    }
}
