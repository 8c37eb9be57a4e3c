import PruneFlux
import PruneKit
import PruneSDXL

/// Maps the module names LoRA trainers write to an SDXL U-Net's or FLUX transformer's modules.
///
/// Accepted names, the prefixes as data (``denoiserPrefixes``, ``underscoredPrefixes``, ``otherComponentPrefixes``):
/// - diffusers / PEFT: `unet.<module>` / `transformer.<module>` / `base_model.model.<module>` / `<module>`, with
///   diffusers' dotted module paths (old attention-processor paths such as `attn1.processor.to_q` and
///   `to_out` for `to_out.0` too);
/// - the original checkpoint's names, dotted (`diffusion_model.input_blocks.4.1…`, ComfyUI) or after kohya's
///   `lora_unet_` with every `.` written `_`: SGM/LDM `input_blocks` / `middle_block` / `output_blocks` for SDXL
///   (what kohya-ss trains SDXL on), Black Forest Labs `double_blocks` / `single_blocks` for FLUX, including
///   the fused `img_attn.qkv`, `txt_attn.qkv` and `single_blocks.N.linear1`; diffusers paths after `lora_unet_`,
///   `lora_transformer_` or `lycoris_` too;
/// - text encoders (`lora_te_`, `lora_te1_`, `lora_te2_`, `lora_te3_`, `text_encoder.`, `text_encoder_2.`):
///   another component, passed through.
///
/// The original names are not a second description of the models: they come from the key rules the
/// single-file loaders use (``SGMUNetLayout/rules`` for SDXL, `FluxKeyRules.blackForestLabs` for FLUX),
/// inverted over the model's own parameter keys.
///
/// This implementation matches: kohya-ss sd-scripts `networks/lora.py` / `networks/lora_flux.py` (`lora_unet_` +
/// module path with `_`), diffusers `loaders/lora_conversion_utils.py` (`_convert_non_diffusers_lora_to_diffusers`,
/// `_convert_kohya_flux_lora_to_diffusers`), ComfyUI `comfy/lora.py` `model_lora_keys_unet` (`lora_unet_`,
/// `lora_transformer_`, `lycoris_`, `transformer.`, `diffusion_model.`).
public struct LoRANameResolver: LoRAModuleResolver {
    /// Prefixes of dotted denoiser names (tried in order, then no prefix).
    public static let denoiserPrefixes = ["unet.", "transformer.", "base_model.model.", "model.diffusion_model.", "diffusion_model."]
    /// Prefixes of names whose dots are written as underscores.
    public static let underscoredPrefixes = ["lora_unet_", "lora_transformer_", "lycoris_"]
    /// Prefixes of other components' names (text encoders), whose tensors pass through.
    public static let otherComponentPrefixes = [
        "lora_te_", "lora_te1_", "lora_te2_", "lora_te3_", "text_encoder.", "text_encoder_2.", "text_encoder_3.",
    ]

    /// Dotted name (diffusers or original) → target.
    private let dotted: [String: LoRATarget]
    /// Name with `_` for `.` → targets (several when two dotted names collide).
    private let underscored: [String: [LoRATarget]]
    /// The diffusers module names, for suggestions.
    private let moduleNames: [String]

    /// A resolver over a model's parameter keys and extra original names.
    ///
    /// - Parameters:
    ///   - parameterKeys: every parameter key of the model (diffusers names); each `<module>.weight` makes `<module>` a module.
    ///   - originalNames: original-checkpoint module names and what they adapt (parts must be modules).
    public init(parameterKeys: some Sequence<String>, originalNames: [String: LoRATarget] = [:]) {
        var dotted: [String: LoRATarget] = [:]
        for key in parameterKeys where key.hasSuffix(".weight") {
            let module = String(key.dropLast(".weight".count))
            dotted[module] = .module(module)
        }
        let modules = Set(dotted.keys)
        moduleNames = modules.sorted()
        for (name, target) in originalNames where target.parts.allSatisfy(modules.contains) && dotted[name] == nil {
            dotted[name] = target
        }
        var underscored: [String: [LoRATarget]] = [:]
        for (name, target) in dotted {
            let flat = name.replacingOccurrences(of: ".", with: "_")
            if !(underscored[flat]?.contains(target) ?? false) { underscored[flat, default: []].append(target) }
        }
        self.dotted = dotted
        self.underscored = underscored
    }

    public func resolve(_ module: String) -> LoRAModuleResolution {
        if let prefix = Self.otherComponentPrefixes.first(where: module.hasPrefix) {
            return .otherComponent(prefix.hasPrefix("lora_te") ? "text encoder (\(prefix.dropLast()))" : String(prefix.dropLast()))
        }
        for prefix in Self.underscoredPrefixes where module.hasPrefix(prefix) {
            guard let targets = underscored[String(module.dropFirst(prefix.count))] else { continue }
            return targets.count == 1 ? .denoiser(targets[0]) : .ambiguous(targets.map(\.description).sorted())
        }
        for prefix in Self.denoiserPrefixes + [""] where module.hasPrefix(prefix) {
            if let target = dottedTarget(String(module.dropFirst(prefix.count))) { return .denoiser(target) }
        }
        return .unknown
    }

    /// A dotted name, with diffusers' old attention-processor spellings normalised.
    private func dottedTarget(_ name: String) -> LoRATarget? {
        let normalized = name.split(separator: ".", omittingEmptySubsequences: false).filter { $0 != "processor" }.joined(separator: ".")
        if let target = dotted[normalized] { return target }
        if normalized.hasSuffix(".to_out") { return dotted[normalized + ".0"] }
        return nil
    }

    public func suggestions(for module: String) -> [String] {
        var name = module
        for prefix in Self.underscoredPrefixes + Self.denoiserPrefixes where name.hasPrefix(prefix) {
            name = String(name.dropFirst(prefix.count))
            break
        }
        let flat = Array(name.replacingOccurrences(of: ".", with: "_").utf8)
        func shared(_ candidate: String) -> Int {
            zip(flat, candidate.replacingOccurrences(of: ".", with: "_").utf8).prefix { $0 == $1 }.count
        }
        let ranked = moduleNames.map { ($0, shared($0)) }.filter { $0.1 > 0 }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        return ranked.prefix(3).map(\.0)
    }
}

extension LoRANameResolver {
    /// The resolver of an SDXL U-Net with `configuration` and these parameter keys: diffusers names plus the
    /// SGM/LDM names of the single-file layout when the configuration has one (the same layers per level).
    public static func sdxl(configuration: UNetConfiguration, parameterKeys: some Collection<String>) -> LoRANameResolver {
        let modules = Set(parameterKeys.filter { $0.hasSuffix(".weight") }.map { String($0.dropLast(".weight".count)) })
        var original: [String: LoRATarget] = [:]
        if let layout = SGMUNetLayout(configuration: configuration) {
            let rules = layout.rules
            for module in modules {
                // The rule whose target is the longest prefix of the module (the single-file loader's longest-source rule, inverted).
                var best: KeyRule?
                for rule in rules where rule.transform == .rename {
                    let target = rule.targets[0]
                    guard module == target || module.hasPrefix(target + ".") else { continue }
                    if best == nil || target.count > best!.targets[0].count { best = rule }
                }
                guard let best else { continue }
                original[best.source + module.dropFirst(best.targets[0].count)] = .module(module)
            }
        }
        return LoRANameResolver(parameterKeys: parameterKeys, originalNames: original)
    }

    /// The resolver of a FLUX transformer with `configuration` and these parameter keys: diffusers names plus
    /// Black Forest Labs' names (``FluxKeyRules/blackForestLabs``: fused q/k/v and `linear1` as stacked parts,
    /// `final_layer.adaLN_modulation.1` with its halves exchanged).
    public static func flux(configuration: FluxConfiguration, parameterKeys: some Collection<String>) -> LoRANameResolver {
        let blocks = max(configuration.doubleBlockCount, configuration.singleBlockCount)
        var original: [String: LoRATarget] = [:]
        for rule in FluxKeyRules.blackForestLabs {
            let indices = rule.source.contains("{i}") ? (0..<blocks).map(String.init) : [""]
            for index in indices {
                let source = rule.source.replacingOccurrences(of: "{i}", with: index)
                let parts = rule.targetModules(index: index)
                switch rule.transform {
                case .rename, .splitRows: original[source] = LoRATarget(parts: parts)
                case .swapHalves: original[source] = LoRATarget(parts: parts, swapsHalves: true)
                }
            }
        }
        return LoRANameResolver(parameterKeys: parameterKeys, originalNames: original)
    }
}

extension SGMUNetLayout {
    /// The single-file layout of a U-Net configuration, or `nil` when it has none (levels with different
    /// numbers of layers).
    init?(configuration: UNetConfiguration) {
        let levels = configuration.blockOutChannels.count
        guard let layers = try? configuration.layersPerBlock.expanded(to: levels, key: "layers_per_block"), let first = layers.first,
            layers.allSatisfy({ $0 == first }),
            configuration.downBlockTypes.count == levels, configuration.upBlockTypes.count == levels,
            !configuration.transformerLayersPerBlock.hasPerLayerLists, configuration.reverseTransformerLayersPerBlock == nil
        else { return nil }
        let depths = (try? configuration.transformerLayersPerBlock.expanded(to: levels, key: "transformer_layers_per_block")) ?? Array(repeating: 1, count: levels)
        let upDepths: [Int?] = zip(configuration.upBlockTypes, depths.reversed()).map { $0.0.hasPrefix("CrossAttn") ? $0.1 : nil }
        blockOutChannels = configuration.blockOutChannels
        layersPerBlock = first
        downDepths = zip(configuration.downBlockTypes, depths).map { $0.0.hasPrefix("CrossAttn") ? $0.1 : nil }
        self.upDepths = upDepths
        midDepth = configuration.midBlockType == nil ? nil : depths.last
        crossAttentionDim = 0
        inChannels = configuration.inChannels
        outChannels = configuration.outChannels
        useLinearProjection = configuration.useLinearProjection
        additionInputDim = nil
    }
}
