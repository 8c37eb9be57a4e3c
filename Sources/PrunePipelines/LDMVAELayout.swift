/// The VAE inside a single-file checkpoint (`first_stage_model.*`, LDM names): its diffusers
/// `AutoencoderKL` configuration derived from shapes and key counts, and the key rules to diffusers names.
///
/// This implementation matches: diffusers `loaders/single_file_utils.py` `convert_ldm_vae_checkpoint`
/// (`encoder.down.N.block.M` → `encoder.down_blocks.N.resnets.M`, `downsample` → `downsamplers.0`; decoder
/// levels reversed, `decoder.up.(n−1−i)` → `decoder.up_blocks.i`; `mid.block_1/2` → `mid_block.resnets.0/1`;
/// `mid.attn_1.{norm,q,k,v,proj_out}` → `mid_block.attentions.0.{group_norm,to_q,to_k,to_v,to_out.0}` with
/// 1×1 convolution kernels squeezed to linear weights; `nin_shortcut` → `conv_shortcut`; `norm_out` →
/// `conv_norm_out`) and `create_vae_diffusers_config_from_ldm` with SDXL's `scaling_factor` 0.13025.
struct LDMVAELayout {
    /// The VAE's key prefix in SGM/LDM single files.
    static let prefix = "first_stage_model."
    /// SDXL's latent scaling factor (diffusers' SDXL `vae/config.json`).
    static let sdxlScalingFactor = 0.13025

    var blockOutChannels: [Int]
    var layersPerBlock: Int
    var latentChannels: Int
    var inChannels: Int
    var outChannels: Int
    var hasMidAttention: Bool
    var hasQuantConvolutions: Bool

    /// - Throws: ``PipelineError/inconsistent(path:key:reason:)`` naming the first key that does not fit.
    init(_ keys: CheckpointKeys) throws(PipelineError) {
        let levels = keys.indices(under: "encoder.down")
        guard !levels.isEmpty, levels == Array(0..<levels.count), keys.indices(under: "decoder.up") == levels else {
            throw .inconsistent(path: keys.path, key: Self.prefix + "encoder.down", reason: "levels do not match decoder.up")
        }
        blockOutChannels = try levels.map { (level: Int) throws(PipelineError) -> Int in
            try keys.requiredShape("encoder.down.\(level).block.0.conv1.weight", rank: 4, purpose: "level \(level) width")[0]
        }
        layersPerBlock = keys.indices(under: "encoder.down.0.block").count
        inChannels = try keys.requiredShape("encoder.conv_in.weight", rank: 4, purpose: "image channels")[1]
        outChannels = try keys.requiredShape("decoder.conv_out.weight", rank: 4, purpose: "image channels")[0]
        latentChannels = try keys.requiredShape("decoder.conv_in.weight", rank: 4, purpose: "latent channels")[1]
        hasMidAttention = keys.has("decoder.mid.attn_1")
        hasQuantConvolutions = keys.has("quant_conv")
    }

    /// The configuration diffusers would write.
    func configuration(normNumGroups: Int, scalingFactor: Double) -> ComponentConfiguration {
        [
            "_class_name": .string("AutoencoderKL"),
            "act_fn": .string("silu"),
            "block_out_channels": .ints(blockOutChannels),
            "down_block_types": .strings(Array(repeating: "DownEncoderBlock2D", count: blockOutChannels.count)),
            "force_upcast": .bool(true),
            "in_channels": .int(inChannels),
            "latent_channels": .int(latentChannels),
            "latents_mean": .null,
            "latents_std": .null,
            "layers_per_block": .int(layersPerBlock),
            "mid_block_add_attention": .bool(hasMidAttention),
            "norm_num_groups": .int(normNumGroups),
            "out_channels": .int(outChannels),
            "sample_size": .int(1024),
            "scaling_factor": .number(scalingFactor),
            "shift_factor": .null,
            "up_block_types": .strings(Array(repeating: "UpDecoderBlock2D", count: blockOutChannels.count)),
            "use_post_quant_conv": .bool(hasQuantConvolutions),
            "use_quant_conv": .bool(hasQuantConvolutions),
        ]
    }

    /// The resnet renames below `source` → `target` (LDM `ResnetBlock` → diffusers `ResnetBlock2D`).
    static func resnetRules(_ source: String, _ target: String) -> [KeyRule] {
        [.rename(source, target), .rename("\(source).nin_shortcut", "\(target).conv_shortcut")]
    }

    /// The mid-block renames of `coder` (`encoder` or `decoder`).
    static func midRules(_ coder: String) -> [KeyRule] {
        let attention = "\(coder).mid_block.attentions.0"
        return resnetRules("\(coder).mid.block_1", "\(coder).mid_block.resnets.0")
            + resnetRules("\(coder).mid.block_2", "\(coder).mid_block.resnets.1") + [
                .rename("\(coder).mid.attn_1.norm", "\(attention).group_norm"),
                KeyRule("\(coder).mid.attn_1.q", ["\(attention).to_q"], .squeezeToMatrix),
                KeyRule("\(coder).mid.attn_1.k", ["\(attention).to_k"], .squeezeToMatrix),
                KeyRule("\(coder).mid.attn_1.v", ["\(attention).to_v"], .squeezeToMatrix),
                KeyRule("\(coder).mid.attn_1.proj_out", ["\(attention).to_out.0"], .squeezeToMatrix),
                .rename("\(coder).norm_out", "\(coder).conv_norm_out"),
            ]
    }

    /// The key rules (keys without the `first_stage_model.` prefix).
    var rules: [KeyRule] {
        let levels = blockOutChannels.count
        var rules = Self.midRules("encoder") + Self.midRules("decoder")
        for level in 0..<levels {
            for layer in 0..<layersPerBlock {
                rules += Self.resnetRules("encoder.down.\(level).block.\(layer)", "encoder.down_blocks.\(level).resnets.\(layer)")
            }
            rules.append(.rename("encoder.down.\(level).downsample", "encoder.down_blocks.\(level).downsamplers.0"))
            let up = levels - 1 - level
            for layer in 0...layersPerBlock {
                rules += Self.resnetRules("decoder.up.\(up).block.\(layer)", "decoder.up_blocks.\(level).resnets.\(layer)")
            }
            rules.append(.rename("decoder.up.\(up).upsample", "decoder.up_blocks.\(level).upsamplers.0"))
        }
        return rules
    }
}
