/// One renaming rule from a foreign checkpoint's module names to diffusers' names, as data.
///
/// `source` and `targets` are module paths (no `.weight` / `.bias`); `{i}` stands for a block index and is
/// carried from the source to the targets. A rule applies to every parameter of the module.
public struct FluxKeyRule: Sendable, Equatable {
    /// How the source tensor becomes the target tensors.
    public enum Transform: Sendable, Equatable {
        /// The same tensor under the (single) target name.
        case rename
        /// Consecutive row blocks, one per target, sized by `parts` (weights and biases alike).
        case splitRows([RowCount])
        /// The two halves of the rows exchanged, under the (single) target name.
        case swapHalves
    }

    /// The number of rows one part of a ``Transform/splitRows(_:)`` takes.
    public enum RowCount: Sendable, Equatable {
        /// As many rows as the module has input features (the weight's column count): the model width.
        case inputWidth
        /// An equal share of the rows the `inputWidth` parts leave.
        case equalShare
        /// All rows the other parts leave.
        case remainder
    }

    public var source: String
    public var targets: [String]
    public var transform: Transform

    public init(_ source: String, _ targets: [String], _ transform: Transform = .rename) {
        precondition(
            { if case .splitRows(let parts) = transform { return parts.count == targets.count } else { return targets.count == 1 } }(),
            "rule \(source): targets do not match the transform")
        self.source = source
        self.targets = targets
        self.transform = transform
    }

    /// A plain rename.
    public static func rename(_ source: String, _ target: String) -> FluxKeyRule { FluxKeyRule(source, [target]) }

    /// The block index (`""` for a rule without `{i}`) when `module` matches ``source``, else `nil`.
    public func match(_ module: String) -> String? {
        guard let placeholder = source.range(of: "{i}") else { return module == source ? "" : nil }
        let head = source[..<placeholder.lowerBound]
        let tail = source[placeholder.upperBound...]
        guard module.hasPrefix(head), module.hasSuffix(tail), module.count > head.count + tail.count else { return nil }
        let index = module.dropFirst(head.count).dropLast(tail.count)
        return index.allSatisfy(\.isASCII) && index.allSatisfy(\.isNumber) ? String(index) : nil
    }

    /// `targets` with `{i}` replaced by `index`.
    public func targetModules(index: String) -> [String] {
        targets.map { $0.replacingOccurrences(of: "{i}", with: index) }
    }
}

/// Key rules for FLUX checkpoints in other naming schemes.
public enum FluxKeyRules {
    /// Black Forest Labs' original `flux1-dev.safetensors` / `flux1-schnell.safetensors` names → diffusers.
    ///
    /// This implementation matches: diffusers `scripts/convert_flux_to_diffusers.py` and
    /// `loaders/single_file_utils.py` `convert_flux_transformer_checkpoint_to_diffusers`
    /// (`research/architectures.md` §2.5). Notable transforms: fused `qkv` rows split in three;
    /// single-block `linear1` rows split into q, k, v (model width each) and the MLP (the rest);
    /// `final_layer.adaLN_modulation.1` is `[shift; scale]` in BFL and `[scale; shift]` in diffusers.
    public static let blackForestLabs: [FluxKeyRule] = [
        .rename("img_in", "x_embedder"),
        .rename("txt_in", "context_embedder"),
        .rename("time_in.in_layer", "time_text_embed.timestep_embedder.linear_1"),
        .rename("time_in.out_layer", "time_text_embed.timestep_embedder.linear_2"),
        .rename("vector_in.in_layer", "time_text_embed.text_embedder.linear_1"),
        .rename("vector_in.out_layer", "time_text_embed.text_embedder.linear_2"),
        .rename("guidance_in.in_layer", "time_text_embed.guidance_embedder.linear_1"),
        .rename("guidance_in.out_layer", "time_text_embed.guidance_embedder.linear_2"),

        .rename("double_blocks.{i}.img_mod.lin", "transformer_blocks.{i}.norm1.linear"),
        .rename("double_blocks.{i}.txt_mod.lin", "transformer_blocks.{i}.norm1_context.linear"),
        FluxKeyRule(
            "double_blocks.{i}.img_attn.qkv",
            ["transformer_blocks.{i}.attn.to_q", "transformer_blocks.{i}.attn.to_k", "transformer_blocks.{i}.attn.to_v"],
            .splitRows([.equalShare, .equalShare, .equalShare])),
        FluxKeyRule(
            "double_blocks.{i}.txt_attn.qkv",
            ["transformer_blocks.{i}.attn.add_q_proj", "transformer_blocks.{i}.attn.add_k_proj", "transformer_blocks.{i}.attn.add_v_proj"],
            .splitRows([.equalShare, .equalShare, .equalShare])),
        .rename("double_blocks.{i}.img_attn.norm.query_norm", "transformer_blocks.{i}.attn.norm_q"),
        .rename("double_blocks.{i}.img_attn.norm.key_norm", "transformer_blocks.{i}.attn.norm_k"),
        .rename("double_blocks.{i}.txt_attn.norm.query_norm", "transformer_blocks.{i}.attn.norm_added_q"),
        .rename("double_blocks.{i}.txt_attn.norm.key_norm", "transformer_blocks.{i}.attn.norm_added_k"),
        .rename("double_blocks.{i}.img_attn.proj", "transformer_blocks.{i}.attn.to_out.0"),
        .rename("double_blocks.{i}.txt_attn.proj", "transformer_blocks.{i}.attn.to_add_out"),
        .rename("double_blocks.{i}.img_mlp.0", "transformer_blocks.{i}.ff.net.0.proj"),
        .rename("double_blocks.{i}.img_mlp.2", "transformer_blocks.{i}.ff.net.2"),
        .rename("double_blocks.{i}.txt_mlp.0", "transformer_blocks.{i}.ff_context.net.0.proj"),
        .rename("double_blocks.{i}.txt_mlp.2", "transformer_blocks.{i}.ff_context.net.2"),

        .rename("single_blocks.{i}.modulation.lin", "single_transformer_blocks.{i}.norm.linear"),
        FluxKeyRule(
            "single_blocks.{i}.linear1",
            [
                "single_transformer_blocks.{i}.attn.to_q", "single_transformer_blocks.{i}.attn.to_k",
                "single_transformer_blocks.{i}.attn.to_v", "single_transformer_blocks.{i}.proj_mlp",
            ],
            .splitRows([.inputWidth, .inputWidth, .inputWidth, .remainder])),
        .rename("single_blocks.{i}.norm.query_norm", "single_transformer_blocks.{i}.attn.norm_q"),
        .rename("single_blocks.{i}.norm.key_norm", "single_transformer_blocks.{i}.attn.norm_k"),
        .rename("single_blocks.{i}.linear2", "single_transformer_blocks.{i}.proj_out"),

        .rename("final_layer.linear", "proj_out"),
        FluxKeyRule("final_layer.adaLN_modulation.1", ["norm_out.linear"], .swapHalves),
    ]

    /// Parameter names that differ: BFL's QK-norm `RMSNorm` calls its weight `scale`.
    public static let blackForestLabsParameterNames = ["scale": "weight"]

    /// Prefixes of the transformer inside all-in-one (ComfyUI-style) single files.
    public static let allInOnePrefixes = ["model.diffusion_model."]
}
