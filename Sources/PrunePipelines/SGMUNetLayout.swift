/// The SDXL U-Net inside a single-file checkpoint (`model.diffusion_model.*`, original SGM/LDM names): its
/// structure derived from key counts and tensor shapes, the diffusers `UNet2DConditionModel` configuration
/// that follows, and the key rules to diffusers names.
///
/// This implementation matches: diffusers `loaders/single_file_utils.py` `convert_ldm_unet_checkpoint`
/// (input block `i ≥ 1` → down block `(i-1) / (layers+1)`, layer `(i-1) % (layers+1)`; output block `i` →
/// up block `i / (layers+1)`; resnet inner names; `.0.op` downsamplers; `.1.conv` / `.2.conv` upsamplers) and
/// `create_unet_diffusers_config_from_ldm` for the SDXL values (`attention_head_dim` = width / head width
/// per level, `addition_embed_type` `text_time`), with the structure read from the weights as ComfyUI's
/// `comfy/model_detection.py` does instead of from SGM's YAML. Deviations: `addition_time_embed_dim` is
/// `(adm_in − pooled width) / 6` when the pooled width is known (diffusers assumes 256); levels without
/// attention get transformer depth 1 (what diffusers' shipped SDXL config writes); head widths and group
/// counts come from ``SDXLHyperparameters``.
struct SGMUNetLayout {
    /// The key prefix of the U-Net in SGM/LDM single files.
    static let prefix = "model.diffusion_model."

    var blockOutChannels: [Int]
    var layersPerBlock: Int
    /// Per level: transformer blocks per attention, or nil for a level without attention.
    var downDepths: [Int?]
    /// Per up level (diffusers order, deepest first): transformer depth or nil.
    var upDepths: [Int?]
    var midDepth: Int?
    var crossAttentionDim: Int
    var inChannels: Int
    var outChannels: Int
    var useLinearProjection: Bool
    /// `label_emb.0.0` input width (SGM `adm_in_channels`), nil when there is no added embedding.
    var additionInputDim: Int?

    /// Derives the layout from the keys.
    /// - Throws: ``PipelineError/inconsistent(path:key:reason:)`` naming the first key that does not fit.
    init(_ keys: CheckpointKeys) throws(PipelineError) {
        let inputBlocks = keys.indices(under: "input_blocks")
        let outputBlocks = keys.indices(under: "output_blocks")
        guard inputBlocks.first == 0, inputBlocks == Array(0..<inputBlocks.count), outputBlocks == Array(0..<outputBlocks.count) else {
            throw .inconsistent(path: keys.path, key: SGMUNetLayout.prefix + "input_blocks", reason: "indices are not consecutive from 0")
        }
        let downsamplers = inputBlocks.filter { keys.has("input_blocks.\($0).0.op") }.count
        let levels = downsamplers + 1
        let inner = inputBlocks.count - 1 - downsamplers
        guard inner > 0, inner % levels == 0, outputBlocks.count == levels * (inner / levels + 1) else {
            throw .inconsistent(
                path: keys.path, key: SGMUNetLayout.prefix + "output_blocks",
                reason: "\(inputBlocks.count) input and \(outputBlocks.count) output blocks do not form \(levels) levels of equal depth")
        }
        let layers = inner / levels
        layersPerBlock = layers

        func depth(_ attention: String) -> Int? {
            keys.has(attention + ".proj_in") ? keys.indices(under: attention + ".transformer_blocks").count : nil
        }
        var widths: [Int] = []
        var downDepths: [Int?] = []
        for level in 0..<levels {
            let first = 1 + level * (layers + 1)
            let shape = try keys.requiredShape("input_blocks.\(first).0.out_layers.3.weight", rank: 4, purpose: "level \(level) width")
            widths.append(shape[0])
            let depths = (0..<layers).map { depth("input_blocks.\(first + $0).1") }
            guard Set(depths.map { $0 ?? -1 }).count == 1 else {
                throw .inconsistent(
                    path: keys.path, key: SGMUNetLayout.prefix + "input_blocks.\(first).1",
                    reason: "level \(level) mixes transformer depths \(depths); diffusers needs one depth per level")
            }
            downDepths.append(depths[0])
        }
        blockOutChannels = widths
        self.downDepths = downDepths
        upDepths = try (0..<levels).map { (up: Int) throws(PipelineError) -> Int? in
            let depths = (0...layers).map { depth("output_blocks.\(up * (layers + 1) + $0).1") }
            guard Set(depths.map { $0 ?? -1 }).count == 1 else {
                throw .inconsistent(
                    path: keys.path, key: SGMUNetLayout.prefix + "output_blocks.\(up * (layers + 1)).1",
                    reason: "up level \(up) mixes transformer depths \(depths)")
            }
            return depths[0]
        }
        midDepth = depth("middle_block.1")
        let convIn = try keys.requiredShape("input_blocks.0.0.weight", rank: 4, purpose: "conv_in")
        inChannels = convIn[1]
        outChannels = try keys.requiredShape("out.2.weight", rank: 4, purpose: "conv_out")[0]
        guard let attention = (0..<levels).first(where: { downDepths[$0] != nil }).map({ "input_blocks.\(1 + $0 * (layers + 1)).1" }) else {
            throw .inconsistent(path: keys.path, key: SGMUNetLayout.prefix + "input_blocks", reason: "has no attention; expected SDXL's cross-attention levels")
        }
        crossAttentionDim = try keys.requiredShape("\(attention).transformer_blocks.0.attn2.to_k.weight", rank: 2, purpose: "context width")[1]
        useLinearProjection = try keys.requiredShape("\(attention).proj_in.weight", purpose: "projection kind").count == 2
        additionInputDim = keys.shape("label_emb.0.0.weight").map { $0[1] }
    }

    /// The configuration diffusers would write for this U-Net.
    /// - Parameters:
    ///   - hyperparameters: head width and group count.
    ///   - pooledWidth: the pooled text embedding width (the second text encoder's projection), if known.
    /// - Throws: ``PipelineError/inconsistent(path:key:reason:)`` when the head width does not divide a level.
    func configuration(hyperparameters: SDXLHyperparameters, pooledWidth: Int?, path: String) throws(PipelineError) -> ComponentConfiguration {
        let headWidth = hyperparameters.unetAttentionHeadWidth
        for (level, width) in blockOutChannels.enumerated() where width % headWidth != 0 {
            throw .inconsistent(
                path: path, key: SGMUNetLayout.prefix + "input_blocks.\(1 + level * (layersPerBlock + 1)).0",
                reason: "is \(width) channels wide, not a multiple of the attention head width \(headWidth) (set \(SDXLHyperparameters.metadataKey))")
        }
        let lastDepth = downDepths.last.flatMap { $0 } ?? 1
        if let midDepth, midDepth != lastDepth {
            throw .inconsistent(
                path: path, key: SGMUNetLayout.prefix + "middle_block.1",
                reason: "has \(midDepth) transformer blocks; diffusers' mid block takes the last level's depth (\(lastDepth))")
        }
        var configuration: ComponentConfiguration = [
            "_class_name": .string("UNet2DConditionModel"),
            "act_fn": .string("silu"),
            "attention_head_dim": .ints(blockOutChannels.map { $0 / headWidth }),
            "block_out_channels": .ints(blockOutChannels),
            "center_input_sample": .bool(false),
            "class_embed_type": .null,
            "conv_in_kernel": .int(3),
            "conv_out_kernel": .int(3),
            "cross_attention_dim": .int(crossAttentionDim),
            "down_block_types": .strings(downDepths.map { $0 == nil ? "DownBlock2D" : "CrossAttnDownBlock2D" }),
            "downsample_padding": .int(1),
            "dual_cross_attention": .bool(false),
            "encoder_hid_dim": .null,
            "flip_sin_to_cos": .bool(true),
            "freq_shift": .int(0),
            "in_channels": .int(inChannels),
            "layers_per_block": .int(layersPerBlock),
            "mid_block_scale_factor": .int(1),
            "mid_block_type": midDepth == nil ? .null : .string("UNetMidBlock2DCrossAttn"),
            "norm_eps": .number(1e-5),
            "norm_num_groups": .int(hyperparameters.unetNormNumGroups),
            "num_attention_heads": .null,
            "only_cross_attention": .bool(false),
            "out_channels": .int(outChannels),
            "resnet_time_scale_shift": .string("default"),
            "sample_size": .int(128),
            "time_embedding_type": .string("positional"),
            "transformer_layers_per_block": .ints(downDepths.map { $0 ?? 1 }),
            "up_block_types": .strings(upDepths.map { $0 == nil ? "UpBlock2D" : "CrossAttnUpBlock2D" }),
            "upcast_attention": .bool(false),
            "use_linear_projection": .bool(useLinearProjection),
        ]
        if let additionInputDim {
            let timeWidth = pooledWidth.map { (additionInputDim - $0) / 6 } ?? 256
            configuration["addition_embed_type"] = .string("text_time")
            configuration["addition_time_embed_dim"] = .int(timeWidth)
            configuration["projection_class_embeddings_input_dim"] = .int(additionInputDim)
        } else {
            configuration["addition_embed_type"] = .null
            configuration["addition_time_embed_dim"] = .null
            configuration["projection_class_embeddings_input_dim"] = .null
        }
        return configuration
    }

    /// The resnet renames below `source` → `target` (SGM `ResBlock` → diffusers `ResnetBlock2D`).
    static func resnetRules(_ source: String, _ target: String) -> [KeyRule] {
        [
            .rename(source, target),
            .rename("\(source).in_layers.0", "\(target).norm1"),
            .rename("\(source).in_layers.2", "\(target).conv1"),
            .rename("\(source).out_layers.0", "\(target).norm2"),
            .rename("\(source).out_layers.3", "\(target).conv2"),
            .rename("\(source).emb_layers.1", "\(target).time_emb_proj"),
            .rename("\(source).skip_connection", "\(target).conv_shortcut"),
        ]
    }

    /// The key rules for this U-Net (keys without the `model.diffusion_model.` prefix).
    var rules: [KeyRule] {
        let levels = blockOutChannels.count
        let span = layersPerBlock + 1
        var rules: [KeyRule] = [
            .rename("time_embed.0", "time_embedding.linear_1"),
            .rename("time_embed.2", "time_embedding.linear_2"),
            .rename("label_emb.0.0", "add_embedding.linear_1"),
            .rename("label_emb.0.2", "add_embedding.linear_2"),
            .rename("input_blocks.0.0", "conv_in"),
            .rename("out.0", "conv_norm_out"),
            .rename("out.2", "conv_out"),
        ]
        for level in 0..<levels {
            for layer in 0..<span {
                let input = 1 + level * span + layer
                if layer == layersPerBlock {
                    if level < levels - 1 { rules.append(.rename("input_blocks.\(input).0.op", "down_blocks.\(level).downsamplers.0.conv")) }
                    continue
                }
                rules += Self.resnetRules("input_blocks.\(input).0", "down_blocks.\(level).resnets.\(layer)")
                rules.append(.rename("input_blocks.\(input).1", "down_blocks.\(level).attentions.\(layer)"))
            }
        }
        rules += Self.resnetRules("middle_block.0", "mid_block.resnets.0")
        rules.append(.rename("middle_block.1", "mid_block.attentions.0"))
        rules += Self.resnetRules("middle_block.2", "mid_block.resnets.1")
        for up in 0..<levels {
            for layer in 0..<span {
                let output = up * span + layer
                rules += Self.resnetRules("output_blocks.\(output).0", "up_blocks.\(up).resnets.\(layer)")
                if upDepths[up] != nil {
                    rules.append(.rename("output_blocks.\(output).1", "up_blocks.\(up).attentions.\(layer)"))
                }
                if layer == layersPerBlock && up < levels - 1 {
                    let slot = upDepths[up] == nil ? 1 : 2
                    rules.append(.rename("output_blocks.\(output).\(slot).conv", "up_blocks.\(up).upsamplers.0.conv"))
                }
            }
        }
        return rules
    }
}
