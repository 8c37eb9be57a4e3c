import Foundation
import PruneNN
import PruneTensor

/// An SDXL single-file checkpoint (`sd_xl_base_1.0.safetensors` and nearly every community fine-tune): one
/// safetensors file holding the U-Net, both text encoders and the VAE under their original SGM/LDM names,
/// usually in float16, with no configuration.
///
/// Each component comes out as a ``PipelineComponent`` exactly like a pipeline folder's: the
/// `config.json` diffusers / transformers would write (derived from tensor shapes and key counts plus
/// ``SDXLHyperparameters``) and a lazy tensor source in diffusers / transformers names
/// (``RuleMappedTensorSource`` over the memory-mapped file).
///
/// ```swift
/// let checkpoint = try SDXLSingleFile(path: "sd_xl_base_1.0.safetensors")
/// let unet = try checkpoint.component("unet")            // UNet2DConditionModel names and config
/// let bigG = try checkpoint.component("text_encoder_2")  // CLIPTextModelWithProjection names and config
/// ```
///
/// This implementation matches: diffusers `loaders/single_file_utils.py` (`convert_ldm_unet_checkpoint`,
/// `convert_ldm_clip_checkpoint`, `convert_open_clip_checkpoint`, `convert_ldm_vae_checkpoint`); see
/// ``SGMUNetLayout``, ``CLIPTextLayout`` and ``LDMVAELayout`` for the rules and their deviations. EMA weights
/// (`model_ema.*`) are ignored, as diffusers does by default.
public struct SDXLSingleFile {
    /// The component slots, in pipeline order.
    public static let componentNames = ["unet", "text_encoder", "text_encoder_2", "vae"]
    /// The key prefix of the U-Net's tensors in such a file.
    public static let unetKeyPrefix = SGMUNetLayout.prefix

    /// The file.
    public let path: String
    /// The head widths and group counts used for the configurations.
    public let hyperparameters: SDXLHyperparameters
    /// The components the file holds (the VAE may be absent), in pipeline order.
    public let availableComponents: [String]
    private let source: SafetensorsTensorSource
    private let configurations: [String: ComponentConfiguration]
    private let rules: [String: (prefix: String, rules: [KeyRule], className: String)]

    /// Whether `path` names a file (not a folder) ending in `.safetensors`.
    public static func isSingleFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return path.hasSuffix(".safetensors") && FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            && !isDirectory.boolValue
    }

    /// Opens `path` and derives every component's configuration.
    /// - Parameter hyperparameters: overrides for what shapes cannot tell; by default the file's
    ///   ``SDXLHyperparameters/metadataKey`` entry, else SDXL's values.
    /// - Throws: ``PipelineError/notACheckpoint(path:expected:reason:)`` for a file that is not an SDXL
    ///   single file (saying what it looks like instead), ``PipelineError/inconsistent(path:key:reason:)``
    ///   when its shapes do not fit together, ``PipelineError/unreadable(path:reason:)``.
    public init(path: String, hyperparameters: SDXLHyperparameters? = nil) throws(PipelineError) {
        let file: SafetensorsFile
        do { file = try SafetensorsFile.open(path) } catch { throw .unreadable(path: path, reason: error.description) }
        do { source = try SafetensorsTensorSource(file: path) } catch { throw .unreadable(path: path, reason: error.description) }
        try Self.checkLayout(Set(file.keys), path: path)
        self.path = path
        let chosen: SDXLHyperparameters
        if let hyperparameters { chosen = hyperparameters } else {
            chosen = try SDXLHyperparameters.recorded(in: file.metadata, path: path)
        }
        self.hyperparameters = chosen
        let hyperparameters = chosen

        let clip = CheckpointKeys(source, prefix: CLIPTextLayout.clipPrefix, path: path)
        let openCLIP = CheckpointKeys(source, prefix: CLIPTextLayout.openCLIPPrefix, path: path)
        let unet = CheckpointKeys(source, prefix: SGMUNetLayout.prefix, path: path)
        let vae = CheckpointKeys(source, prefix: LDMVAELayout.prefix, path: path)

        let clipShapes = try CLIPTextLayout.clipShapes(clip)
        let (openCLIPShapes, projection) = try CLIPTextLayout.openCLIPShapes(openCLIP)
        let unetLayout = try SGMUNetLayout(unet)
        var configurations: [String: ComponentConfiguration] = [
            "unet": try unetLayout.configuration(hyperparameters: hyperparameters, pooledWidth: projection, path: path),
            "text_encoder": try CLIPTextLayout.configuration(
                clipShapes, className: "CLIPTextModel", hiddenAct: "quick_gelu", projectionDim: clipShapes.hiddenSize,
                headWidth: hyperparameters.textEncoderHeadWidth, path: path, key: CLIPTextLayout.clipPrefix + "text_model"),
            "text_encoder_2": try CLIPTextLayout.configuration(
                openCLIPShapes, className: "CLIPTextModelWithProjection", hiddenAct: "gelu", projectionDim: projection,
                headWidth: hyperparameters.textEncoderHeadWidth, path: path, key: CLIPTextLayout.openCLIPPrefix + "transformer"),
        ]
        var rules: [String: (prefix: String, rules: [KeyRule], className: String)] = [
            "unet": (SGMUNetLayout.prefix, unetLayout.rules, "UNet2DConditionModel"),
            "text_encoder": (CLIPTextLayout.clipPrefix, CLIPTextLayout.clipRules, "CLIPTextModel"),
            "text_encoder_2": (
                CLIPTextLayout.openCLIPPrefix, KeyRule.expanded(CLIPTextLayout.openCLIPRules, count: openCLIPShapes.layers),
                "CLIPTextModelWithProjection"
            ),
        ]
        if !vae.isEmpty {
            let layout = try LDMVAELayout(vae)
            configurations["vae"] = layout.configuration(
                normNumGroups: hyperparameters.vaeNormNumGroups, scalingFactor: LDMVAELayout.sdxlScalingFactor)
            rules["vae"] = (LDMVAELayout.prefix, layout.rules, "AutoencoderKL")
        }
        self.configurations = configurations
        self.rules = rules
        availableComponents = Self.componentNames.filter { configurations[$0] != nil }
    }

    /// Rejects files that are not SDXL base single files, saying what they look like.
    static func checkLayout(_ keys: Set<String>, path: String) throws(PipelineError) {
        let expected = "an SDXL single-file checkpoint"
        let required = [
            SGMUNetLayout.prefix + "input_blocks.0.0.weight", SGMUNetLayout.prefix + "label_emb.0.0.weight",
            CLIPTextLayout.clipPrefix + "text_model.embeddings.token_embedding.weight",
            CLIPTextLayout.openCLIPPrefix + "token_embedding.weight",
        ]
        let missing = required.filter { !keys.contains($0) }
        guard !missing.isEmpty else { return }
        let looks: String
        if keys.contains(where: { $0.contains("double_blocks.") }) {
            looks = "it holds FLUX transformer keys (double_blocks.*)"
        } else if keys.contains(where: { $0.hasPrefix("cond_stage_model.") }) {
            looks = "it holds a Stable Diffusion 1.x/2.x text encoder (cond_stage_model.*)"
        } else if keys.contains(where: { $0.hasPrefix("conditioner.embedders.0.model.") }) {
            looks = "it looks like the SDXL refiner (OpenCLIP as embedders.0), which is not supported"
        } else if keys.contains(where: { $0.hasPrefix("down_blocks.") || $0.hasPrefix("transformer_blocks.") }) {
            looks = "its keys are already diffusers names (load its folder instead)"
        } else {
            looks = "it lacks \(missing.joined(separator: ", "))"
        }
        throw .notACheckpoint(
            path: path,
            expected: expected + " (model.diffusion_model.*, conditioner.embedders.0.transformer.*, conditioner.embedders.1.model.*)",
            reason: looks)
    }

    /// The derived `config.json` of component `name`.
    /// - Throws: ``PipelineError/noComponent(path:component:available:)``.
    public func configuration(of name: String) throws(PipelineError) -> ComponentConfiguration {
        guard let configuration = configurations[name] else {
            throw .noComponent(path: path, component: name, available: availableComponents)
        }
        return configuration
    }

    /// Component `name` (`unet`, `text_encoder`, `text_encoder_2`, `vae`): its derived configuration and its
    /// tensors in diffusers / transformers names, read lazily from the file.
    /// - Throws: ``PipelineError/noComponent(path:component:available:)`` or
    ///   ``PipelineError/inconsistent(path:key:reason:)``.
    public func component(_ name: String) throws(PipelineError) -> PipelineComponent {
        let configuration = try configuration(of: name)
        let (prefix, rules, className) = rules[name]!
        let tensors = try RuleMappedTensorSource(base: source, prefix: prefix, rules: rules, name: "\(path)#\(name)")
        return PipelineComponent(name: name, className: className, configuration: configuration, tensors: tensors, origin: "\(path)#\(name)")
    }
}
