import Foundation
import PruneNN
import PruneTensor
import PruneTextEncoders
import PruneTokenizers

/// A pipeline's prompt side — its tokenizers and text encoders — loaded from what a user holds: a diffusers
/// pipeline folder (SDXL or FLUX) or an SDXL single-file checkpoint. It turns text into the conditioning tensors
/// the denoiser takes, under diffusers' names.
///
/// Tokenizers come from the pipeline's `tokenizer/` and `tokenizer_2/` folders; a single file carries none, so
/// it takes them from `tokenizers` (a pipeline folder holding `tokenizer/` and `tokenizer_2/`, e.g. the SDXL base
/// repository) or, by default, the real CLIP vocabulary bundled with PruneKit (open_clip's, the one every SDXL
/// checkpoint was trained with; `tokenizer_2` pads with `!` as SDXL's does).
///
/// Encoder weights stay in their stored 16-bit form while resident (see `PruneTextEncoders`); release the value
/// once the prompts are encoded to free them before denoising.
public enum PipelineTextConditioning: @unchecked Sendable {
    case sdxl(SDXLTextConditioner)
    case flux(FluxTextConditioner)

    /// Whether `path` is something this can load: a pipeline folder or an SDXL single file.
    public static func canLoad(_ path: String) -> Bool {
        PipelineFolder.isPipelineFolder(path) || SDXLSingleFile.isSingleFile(path)
    }

    /// Loads the tokenizers and text encoders of the pipeline at `path`.
    /// - Parameters:
    ///   - path: a diffusers pipeline folder or an SDXL single-file checkpoint.
    ///   - tokenizers: a pipeline folder whose `tokenizer/` and `tokenizer_2/` replace the pipeline's own (for a
    ///     single file: instead of the bundled CLIP vocabulary).
    /// - Throws: ``PipelineError`` naming the file or component that is missing or does not load.
    public static func load(_ path: String, tokenizers: String? = nil) throws(PipelineError) -> PipelineTextConditioning {
        if PipelineFolder.isPipelineFolder(path) {
            let folder = try PipelineFolder(path: path)
            let tokenizerSource = try tokenizers.map { path throws(PipelineError) in try PipelineFolder(path: path) } ?? folder
            switch folder.family {
            case .stableDiffusionXL:
                let hasFirst = folder.components["text_encoder"] != nil
                let textEncoder = hasFirst ? try clipModel(folder.component("text_encoder")) : nil
                let tokenizer = hasFirst ? try clipTokenizer(tokenizerSource, "tokenizer") : nil
                let forceZeros = folder.attributes["force_zeros_for_empty_prompt"]?.boolValue ?? true
                return .sdxl(
                    SDXLTextConditioner(
                        tokenizer: tokenizer, textEncoder: textEncoder, tokenizer2: try clipTokenizer(tokenizerSource, "tokenizer_2"),
                        textEncoder2: try clipProjectionModel(folder.component("text_encoder_2")), forceZerosForEmptyPrompt: forceZeros))
            case .flux:
                return .flux(
                    FluxTextConditioner(
                        tokenizer: try clipTokenizer(tokenizerSource, "tokenizer"), textEncoder: try clipModel(folder.component("text_encoder")),
                        tokenizer2: try t5Tokenizer(tokenizerSource, "tokenizer_2"), textEncoder2: try t5Model(folder.component("text_encoder_2"))))
            }
        }
        guard SDXLSingleFile.isSingleFile(path) else {
            throw .notACheckpoint(
                path: path, expected: "a diffusers pipeline folder (with model_index.json) or an SDXL single-file checkpoint",
                reason: "it is neither, so it has no text encoders")
        }
        let file = try SDXLSingleFile(path: path)
        let tokenizer: CLIPTokenizer
        let tokenizer2: CLIPTokenizer
        if let tokenizers {
            let folder = try PipelineFolder(path: tokenizers)
            tokenizer = try clipTokenizer(folder, "tokenizer")
            tokenizer2 = try clipTokenizer(folder, "tokenizer_2")
        } else {
            do {
                tokenizer = try CLIPTokenizer.bundled(padToken: "<|endoftext|>")
                tokenizer2 = try CLIPTokenizer.bundled(padToken: "!")
            } catch { throw .unreadable(path: "the bundled CLIP vocabulary", reason: error.description) }
        }
        return .sdxl(
            SDXLTextConditioner(
                tokenizer: tokenizer, textEncoder: try clipModel(file.component("text_encoder")), tokenizer2: tokenizer2,
                textEncoder2: try clipProjectionModel(file.component("text_encoder_2")), forceZerosForEmptyPrompt: true))
    }

    /// The conditioning of one prompt under diffusers' names (see ``SDXLTextConditioner`` and ``FluxTextConditioner``).
    /// `negativePrompt` nil means none given; `maxSequenceLength` applies to FLUX (default 512), `clipSkip` to SDXL.
    public func encode(
        prompt: String, negativePrompt: String? = nil, maxSequenceLength: Int? = nil, clipSkip: Int? = nil
    ) throws(PipelineError) -> [String: Tensor] {
        switch self {
        case .sdxl(let conditioner):
            if maxSequenceLength != nil { throw .badSetting("--max-sequence-length applies to FLUX pipelines (T5); SDXL's CLIP encoders take 77 tokens") }
            return try conditioner.encode(prompt: prompt, negativePrompt: negativePrompt, clipSkip: clipSkip)
        case .flux(let conditioner):
            if clipSkip != nil { throw .badSetting("--clip-skip applies to SDXL pipelines") }
            return try conditioner.encode(prompt: prompt, negativePrompt: negativePrompt, maxSequenceLength: maxSequenceLength ?? 512)
        }
    }

    /// The family, for messages.
    public var familyName: String {
        switch self {
        case .sdxl: "SDXL"
        case .flux: "FLUX"
        }
    }

    // MARK: - Components

    private static func clipConfiguration(_ component: PipelineComponent) throws(PipelineError) -> CLIPTextConfiguration {
        let path = component.origin + "/config.json"
        do {
            return try CLIPTextConfiguration.decode(try component.configuration.jsonData(), path: path)
        } catch let error as TextEncoderConfigurationError {
            throw .badJSON(path: path, reason: error.description)
        } catch {
            throw .badJSON(path: path, reason: "\(error)")
        }
    }

    private static func clipModel(_ component: PipelineComponent) throws(PipelineError) -> CLIPTextModel {
        let configuration = try clipConfiguration(component)
        do { return try CLIPTextModel(configuration: configuration, source: component.tensors, sourceName: component.origin) } catch {
            throw .unreadable(path: component.origin, reason: "\(error)")
        }
    }

    private static func clipProjectionModel(_ component: PipelineComponent) throws(PipelineError) -> CLIPTextModelWithProjection {
        let configuration = try clipConfiguration(component)
        do {
            return try CLIPTextModelWithProjection(configuration: configuration, source: component.tensors, sourceName: component.origin)
        } catch { throw .unreadable(path: component.origin, reason: "\(error)") }
    }

    private static func t5Model(_ component: PipelineComponent) throws(PipelineError) -> T5EncoderModel {
        let path = component.origin + "/config.json"
        let configuration: T5Configuration
        do { configuration = try T5Configuration.decode(try component.configuration.jsonData(), path: path) } catch {
            throw .badJSON(path: path, reason: "\(error)")
        }
        do { return try T5EncoderModel(configuration: configuration, source: component.tensors, sourceName: component.origin) } catch {
            throw .unreadable(path: component.origin, reason: "\(error)")
        }
    }

    private static func clipTokenizer(_ folder: PipelineFolder, _ name: String) throws(PipelineError) -> CLIPTokenizer {
        let directory = try folder.directory(of: name)
        do { return try CLIPTokenizer(directory: directory) } catch { throw .unreadable(path: directory, reason: error.description) }
    }

    private static func t5Tokenizer(_ folder: PipelineFolder, _ name: String) throws(PipelineError) -> T5Tokenizer {
        let directory = try folder.directory(of: name)
        do { return try T5Tokenizer(directory: directory) } catch { throw .unreadable(path: directory, reason: error.description) }
    }
}
