/// The two SDXL text encoders inside a single-file checkpoint: their configurations derived from tensor
/// shapes and key counts, and their key rules to transformers names.
///
/// This implementation matches: diffusers `loaders/single_file_utils.py` `convert_ldm_clip_checkpoint`
/// (CLIP-L: `conditioner.embedders.0.transformer.` is already transformers' `CLIPTextModel` layout, a prefix
/// change) and `convert_open_clip_checkpoint` (OpenCLIP bigG → `CLIPTextModelWithProjection`: fused
/// `attn.in_proj_*` split in three equal row blocks, `resblocks.N` → `text_model.encoder.layers.N`,
/// `ln_1/ln_2`, `mlp.c_fc/c_proj`, `attn.out_proj`, embeddings, `ln_final`, `text_projection` transposed).
/// Configurations follow the `text_encoder/` and `text_encoder_2/` `config.json` SDXL base ships
/// (`quick_gelu` / `gelu`, `bos_token_id` 0, `eos_token_id` 2, `pad_token_id` 1, `layer_norm_eps` 1e-5).
/// Deviations: `position_ids` buffers and OpenCLIP's `logit_scale` are dropped (no transformers parameter
/// holds them); the in-projection is split in equal thirds rather than by the projection width (the same
/// for SDXL, where both are 1280).
enum CLIPTextLayout {
    /// CLIP ViT-L/14's text model in SDXL files.
    static let clipPrefix = "conditioner.embedders.0.transformer."
    /// OpenCLIP ViT-bigG/14's text model in SDXL files.
    static let openCLIPPrefix = "conditioner.embedders.1.model."

    /// CLIP-L's rules: names are kept (`text_model.…`); buffers dropped.
    static let clipRules: [KeyRule] = [.drop("text_model.embeddings.position_ids")]

    /// OpenCLIP bigG's rules, `{i}` being the residual block.
    static let openCLIPRules: [KeyRule] = [
        .rename("token_embedding", "text_model.embeddings.token_embedding"),
        .rename("positional_embedding", "text_model.embeddings.position_embedding.weight"),
        .rename("ln_final", "text_model.final_layer_norm"),
        KeyRule("text_projection", ["text_projection.weight"], .transpose),
        .drop("logit_scale"),
        .drop("attn_mask"),
        .rename("transformer.resblocks.{i}.ln_1", "text_model.encoder.layers.{i}.layer_norm1"),
        .rename("transformer.resblocks.{i}.ln_2", "text_model.encoder.layers.{i}.layer_norm2"),
        .rename("transformer.resblocks.{i}.mlp.c_fc", "text_model.encoder.layers.{i}.mlp.fc1"),
        .rename("transformer.resblocks.{i}.mlp.c_proj", "text_model.encoder.layers.{i}.mlp.fc2"),
        .rename("transformer.resblocks.{i}.attn.out_proj", "text_model.encoder.layers.{i}.self_attn.out_proj"),
        KeyRule(
            "transformer.resblocks.{i}.attn.in_proj_weight",
            ["q_proj.weight", "k_proj.weight", "v_proj.weight"].map { "text_model.encoder.layers.{i}.self_attn.\($0)" }, .splitRows),
        KeyRule(
            "transformer.resblocks.{i}.attn.in_proj_bias",
            ["q_proj.bias", "k_proj.bias", "v_proj.bias"].map { "text_model.encoder.layers.{i}.self_attn.\($0)" }, .splitRows),
    ]

    /// The shape-derived part of a CLIP text configuration.
    struct Shapes {
        var vocabularySize: Int
        var hiddenSize: Int
        var maxPositions: Int
        var layers: Int
        var intermediateSize: Int
    }

    /// CLIP-L's shapes (transformers names under the prefix).
    static func clipShapes(_ keys: CheckpointKeys) throws(PipelineError) -> Shapes {
        let token = try keys.requiredShape("text_model.embeddings.token_embedding.weight", rank: 2, purpose: "CLIP-L vocabulary and width")
        let positions = try keys.requiredShape("text_model.embeddings.position_embedding.weight", rank: 2, purpose: "CLIP-L positions")
        let fc1 = try keys.requiredShape("text_model.encoder.layers.0.mlp.fc1.weight", rank: 2, purpose: "CLIP-L MLP width")
        return Shapes(
            vocabularySize: token[0], hiddenSize: token[1], maxPositions: positions[0],
            layers: keys.indices(under: "text_model.encoder.layers").count, intermediateSize: fc1[0])
    }

    /// OpenCLIP bigG's shapes (OpenCLIP names under the prefix).
    static func openCLIPShapes(_ keys: CheckpointKeys) throws(PipelineError) -> (shapes: Shapes, projection: Int) {
        let token = try keys.requiredShape("token_embedding.weight", rank: 2, purpose: "OpenCLIP vocabulary and width")
        let positions = try keys.requiredShape("positional_embedding", rank: 2, purpose: "OpenCLIP positions")
        let fc = try keys.requiredShape("transformer.resblocks.0.mlp.c_fc.weight", rank: 2, purpose: "OpenCLIP MLP width")
        let projection = try keys.requiredShape("text_projection", rank: 2, purpose: "OpenCLIP projection")
        return (
            Shapes(
                vocabularySize: token[0], hiddenSize: token[1], maxPositions: positions[0],
                layers: keys.indices(under: "transformer.resblocks").count, intermediateSize: fc[0]),
            projection[1]
        )
    }

    /// The `config.json` transformers writes for SDXL's text encoders.
    static func configuration(
        _ shapes: Shapes, className: String, hiddenAct: String, projectionDim: Int, headWidth: Int, path: String, key: String
    ) throws(PipelineError) -> ComponentConfiguration {
        guard shapes.hiddenSize % headWidth == 0 else {
            throw .inconsistent(
                path: path, key: key,
                reason: "is \(shapes.hiddenSize) wide, not a multiple of the head width \(headWidth) (set \(SDXLHyperparameters.metadataKey))")
        }
        return [
            "architectures": .strings([className]),
            "attention_dropout": .number(0),
            "bos_token_id": .int(0),
            "dropout": .number(0),
            "eos_token_id": .int(2),
            "hidden_act": .string(hiddenAct),
            "hidden_size": .int(shapes.hiddenSize),
            "initializer_factor": .number(1),
            "initializer_range": .number(0.02),
            "intermediate_size": .int(shapes.intermediateSize),
            "layer_norm_eps": .number(1e-5),
            "max_position_embeddings": .int(shapes.maxPositions),
            "model_type": .string("clip_text_model"),
            "num_attention_heads": .int(shapes.hiddenSize / headWidth),
            "num_hidden_layers": .int(shapes.layers),
            "pad_token_id": .int(1),
            "projection_dim": .int(projectionDim),
            "vocab_size": .int(shapes.vocabularySize),
        ]
    }
}
