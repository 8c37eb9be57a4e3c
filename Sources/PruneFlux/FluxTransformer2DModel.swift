import PruneNN
import PruneTensor

/// diffusers' `FluxTransformer2DModel` (FLUX.1-dev / FLUX.1-schnell MMDiT), built from checkpoint keys.
///
/// ```swift
/// let loaded = try FluxModelLoader.load(directory: "FLUX.1-schnell/transformer")
/// let velocity = loaded.model(
///     hiddenStates: packedLatents, encoderHiddenStates: t5, pooledProjections: clipPooled,
///     timestep: sigmas, imageIDs: FluxLatentPacking.imageIDs(rows: 64, columns: 64),
///     textIDs: FluxLatentPacking.textIDs(count: 256))
/// ```
///
/// Keys: `x_embedder`, `context_embedder`, `time_text_embed.{timestep,guidance,text}_embedder.linear_{1,2}`,
/// `transformer_blocks.N.*` (``FluxTransformerBlock``), `single_transformer_blocks.N.*`
/// (``FluxSingleTransformerBlock``), `norm_out.linear`, `proj_out`.
///
/// This implementation matches: diffusers 0.42 `transformer_flux.py` `FluxTransformer2DModel.forward`.
public struct FluxTransformer2DModel {
    public let configuration: FluxConfiguration
    /// The kept units of the pruned modules (empty for the unpruned model).
    public let widths: UnitWidths
    public let imageEmbedder: Linear
    public let contextEmbedder: Linear
    public let timeTextEmbedding: FluxTimeTextEmbedding
    public let positionEmbedding: FluxPositionEmbedding
    public let doubleBlocks: [FluxTransformerBlock]
    public let singleBlocks: [FluxSingleTransformerBlock]
    public let normOut: AdaLayerNormContinuous
    public let projectOut: Linear

    /// Every layer of the model with its width, from a configuration and the modules' unit widths.
    public struct Shapes: Sendable, Equatable {
        public var configuration: FluxConfiguration
        public var widths: UnitWidths

        public init(configuration: FluxConfiguration, widths: UnitWidths = .configuration) {
            self.configuration = configuration
            self.widths = widths
        }

        var dimension: Int { configuration.innerDimension }

        public var imageEmbedder: LinearShape {
            LinearShape("x_embedder", inFeatures: configuration.inChannels, outFeatures: dimension)
        }
        public var contextEmbedder: LinearShape {
            LinearShape("context_embedder", inFeatures: configuration.jointAttentionDimension, outFeatures: dimension)
        }
        public var timeTextEmbedding: FluxTimeTextEmbedding.Shapes {
            FluxTimeTextEmbedding.Shapes(
                dimension: dimension, pooledProjectionDimension: configuration.pooledProjectionDimension,
                hasGuidance: configuration.guidanceEmbeds)
        }
        public var doubleBlocks: [FluxTransformerBlock.Shapes] {
            (0..<configuration.doubleBlockCount).map {
                FluxTransformerBlock.Shapes(moduleKey: "transformer_blocks.\($0)", configuration: configuration, widths: widths)
            }
        }
        public var singleBlocks: [FluxSingleTransformerBlock.Shapes] {
            (0..<configuration.singleBlockCount).map {
                FluxSingleTransformerBlock.Shapes(moduleKey: "single_transformer_blocks.\($0)", configuration: configuration, widths: widths)
            }
        }
        public var normOut: LinearShape { AdaLayerNormContinuous.linearShape(dimension: dimension, conditioningDimension: dimension) }
        public var projectOut: LinearShape {
            LinearShape("proj_out", inFeatures: dimension, outFeatures: configuration.patchSize * configuration.patchSize * configuration.resolvedOutChannels)
        }
    }

    /// Builds the model's layers under `weights` (normally the root scope of a ``ParameterStore``).
    ///
    /// - Parameters:
    ///   - configuration: a validated configuration.
    ///   - widths: the kept units of pruned modules; the configuration's width for every module it does not
    ///     name (by default all).
    ///   - weights: where the parameters come from; problems are collected by the store's `finish()`.
    public init(configuration: FluxConfiguration, widths: UnitWidths = .configuration, weights: WeightScope) {
        self.configuration = configuration
        self.widths = widths
        let shapes = Shapes(configuration: configuration, widths: widths)
        timeTextEmbedding = FluxTimeTextEmbedding(weights.scoped("time_text_embed"), shapes.timeTextEmbedding)
        contextEmbedder = Linear(weights, shapes.contextEmbedder)
        imageEmbedder = Linear(weights, shapes.imageEmbedder)
        positionEmbedding = FluxPositionEmbedding(theta: 10_000, axesDimensions: configuration.ropeAxesDimensions)
        let doubleScope = weights.scoped("transformer_blocks")
        doubleBlocks = shapes.doubleBlocks.enumerated().map { FluxTransformerBlock(doubleScope.scoped($0.offset), $0.element) }
        let singleScope = weights.scoped("single_transformer_blocks")
        singleBlocks = shapes.singleBlocks.enumerated().map { FluxSingleTransformerBlock(singleScope.scoped($0.offset), $0.element) }
        normOut = AdaLayerNormContinuous(weights.scoped("norm_out"), dimension: shapes.dimension, conditioningDimension: shapes.dimension)
        projectOut = Linear(weights, shapes.projectOut)
    }

    /// The layer shapes this model was built from.
    public var shapes: Shapes { Shapes(configuration: configuration, widths: widths) }

    /// The denoiser's velocity prediction.
    ///
    /// - Parameters:
    ///   - hiddenStates: packed latents `[B, N, in_channels]` (see ``FluxLatentPacking``).
    ///   - encoderHiddenStates: T5 hidden states `[B, T, joint_attention_dim]`.
    ///   - pooledProjections: CLIP pooled output `[B, pooled_projection_dim]`.
    ///   - timestep: `[B]`, σ ∈ [0, 1]; multiplied by 1000 inside, as diffusers does.
    ///   - imageIDs: `[N, axes]` image position ids.
    ///   - textIDs: `[T, axes]` text position ids (zeros in FLUX.1 text-to-image).
    ///   - guidance: `[B]` embedded guidance scale (multiplied by 1000 inside); required exactly when
    ///     `guidance_embeds` is true.
    ///   - masks: unit masks by module key (`transformer_blocks.N.attn` / `.ff` / `.ff_context`,
    ///     `single_transformer_blocks.N.attn` / `.mlp`), applied inline; the block masks `transformer_blocks` and
    ///     `single_transformer_blocks` (`[blocks]`) scale each block's residual contribution (both streams of a
    ///     double block by the same value).
    /// - Returns: `[B, N, out_channels]`.
    public func callAsFunction(
        hiddenStates: Tensor, encoderHiddenStates: Tensor, pooledProjections: Tensor, timestep: Tensor, imageIDs: Tensor,
        textIDs: Tensor, guidance: Tensor? = nil, masks: UnitMasks = .none
    ) -> Tensor {
        let batch = hiddenStates.shape[0]
        precondition(hiddenStates.rank == 3 && hiddenStates.shape[2] == configuration.inChannels, "hiddenStates must be [B, N, \(configuration.inChannels)], got \(hiddenStates.shape)")
        precondition(
            encoderHiddenStates.rank == 3 && encoderHiddenStates.shape[0] == batch && encoderHiddenStates.shape[2] == configuration.jointAttentionDimension,
            "encoderHiddenStates must be [\(batch), T, \(configuration.jointAttentionDimension)], got \(encoderHiddenStates.shape)")
        precondition(pooledProjections.shape == [batch, configuration.pooledProjectionDimension], "pooledProjections must be [\(batch), \(configuration.pooledProjectionDimension)], got \(pooledProjections.shape)")
        precondition(timestep.shape == [batch], "timestep must be [\(batch)], got \(timestep.shape)")
        if let guidance { precondition(guidance.shape == [batch], "guidance must be [\(batch)], got \(guidance.shape)") }
        let (imageLength, textLength) = (hiddenStates.shape[1], encoderHiddenStates.shape[1])
        precondition(imageIDs.shape[0] == imageLength && textIDs.shape[0] == textLength, "ids \(textIDs.shape) / \(imageIDs.shape) do not match \(textLength) text and \(imageLength) image tokens")

        var image = imageEmbedder(hiddenStates)
        let embedding = timeTextEmbedding(
            timestep: timestep.detached() * 1000, guidance: guidance.map { $0.detached() * 1000 }, pooledProjection: pooledProjections)
        var context = contextEmbedder(encoderHiddenStates)
        let rotary = positionEmbedding(concatenate([textIDs.detached(), imageIDs.detached()], axis: 0))

        for (index, block) in doubleBlocks.enumerated() {
            let (newImage, newContext) = block(image: image, context: context, embedding: embedding, rotary: rotary, masks: masks)
            image = masks.block("transformer_blocks", index: index, input: image, output: newImage)
            context = masks.block("transformer_blocks", index: index, input: context, output: newContext)
        }
        var hidden = concatenate([context, image], axis: 1)
        for (index, block) in singleBlocks.enumerated() {
            hidden = masks.block(
                "single_transformer_blocks", index: index, input: hidden,
                output: block(hidden, embedding: embedding, rotary: rotary, masks: masks))
        }
        image = hidden.sliced(axis: 1, textLength..<(textLength + imageLength))
        return projectOut(normOut(image, embedding: embedding))
    }
}
