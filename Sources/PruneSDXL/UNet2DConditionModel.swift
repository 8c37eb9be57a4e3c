// Port of diffusers `models/unets/unet_2d_condition.py` (UNet2DConditionModel) for the SDXL family.
import PruneNN
import PruneTensor

/// The inputs of one U-Net call, named as diffusers' `forward` arguments.
public struct UNetInputs {
    /// `sample`: `[B, Cin, h, w]` latents.
    public var sample: Tensor
    /// `timestep`: `[B]`, `[1]` or rank 0 (broadcast to the batch); float timesteps such as 999.
    public var timestep: Tensor
    /// `encoder_hidden_states`: `[B, S, cross_attention_dim]`.
    public var encoderHiddenStates: Tensor
    /// `added_cond_kwargs["text_embeds"]`: `[B, pooled]` (text_time models only).
    public var textEmbeds: Tensor?
    /// `added_cond_kwargs["time_ids"]`: `[B, 6]` (text_time models only).
    public var timeIDs: Tensor?
    /// `timestep_cond`: `[B, time_cond_proj_dim]` (LCM-style models only).
    public var timestepCondition: Tensor?

    public init(
        sample: Tensor, timestep: Tensor, encoderHiddenStates: Tensor, textEmbeds: Tensor? = nil, timeIDs: Tensor? = nil,
        timestepCondition: Tensor? = nil
    ) {
        self.sample = sample
        self.timestep = timestep
        self.encoderHiddenStates = encoderHiddenStates
        self.textEmbeds = textEmbeds
        self.timeIDs = timeIDs
        self.timestepCondition = timestepCondition
    }
}

/// Errors from running the U-Net on inputs that do not fit it.
public enum UNetInputError: Error, Sendable, Equatable, CustomStringConvertible {
    case shape(name: String, expected: String, actual: [Int])
    case missing(name: String, reason: String)

    public var description: String {
        switch self {
        case .shape(let name, let expected, let actual): "input \(name): expected \(expected), got \(actual)"
        case .missing(let name, let reason): "input \(name) is required: \(reason)"
        }
    }
}

/// diffusers' `UNet2DConditionModel` (SDXL base/Turbo/Lightning/LCM and diffusers' own test configs).
///
/// Parameters are named by their diffusers checkpoint keys. A pruned model's unit widths (attention heads, FFN
/// neurons per module) come from a ``UnitWidths`` map; everything else follows the configuration.
public struct UNet2DConditionModel {
    public let configuration: UNetConfiguration
    /// The kept units of the pruned modules (empty for the unpruned model), by module key
    /// (e.g. `down_blocks.1.attentions.0.transformer_blocks.0.attn2`).
    public let widths: UnitWidths
    let convIn: Conv2d
    let timeEmbedding: TimestepEmbedding
    let addEmbedding: TimestepEmbedding?
    let downBlocks: [UNetDownBlock]
    let midBlock: UNetMidBlock?
    let upBlocks: [UNetUpBlock]
    let convNormOut: GroupNorm
    let convOut: Conv2d

    /// Builds the model from `weights`.
    ///
    /// - Parameters:
    ///   - configuration: a validated configuration.
    ///   - weights: the root scope of the parameter store (keys are diffusers keys).
    ///   - widths: kept units by module key, for pruned models; modules it does not name have the
    ///     configuration's width.
    /// - Throws: ``UNetConfigurationError`` when the configuration is not supported.
    public init(
        _ configuration: UNetConfiguration, weights: WeightScope,
        widths: UnitWidths = .configuration
    ) throws(UNetConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        let levels = try configuration.resolvedLevels()
        let depths = try configuration.resolvedTransformerDepths()
        let groups = configuration.normNumGroups
        let epsilon = configuration.normEps
        let embeddingWidth = configuration.timeEmbeddingDimension
        let firstChannels = configuration.blockOutChannels[0]

        func transformer(_ scope: WeightScope, channels: Int, level: Level, depth: Int) -> Transformer2DModel {
            Transformer2DModel(
                scope, channels: channels, headDimension: channels / level.heads, heads: level.heads,
                crossAttentionDimension: level.crossAttentionDimension, groups: groups,
                useLinearProjection: configuration.useLinearProjection, depth: depth, widths: widths)
        }
        typealias Level = UNetConfiguration.Level

        convIn = Conv2d(weights.scoped("conv_in"), inChannels: configuration.inChannels, outChannels: firstChannels, kernelSize: 3, padding: 1)
        timeEmbedding = TimestepEmbedding(
            weights.scoped("time_embedding"), inChannels: firstChannels, timeEmbeddingDimension: embeddingWidth,
            conditionProjectionDimension: configuration.timeCondProjDim)
        if configuration.additionEmbedType == "text_time", let inputWidth = configuration.projectionClassEmbeddingsInputDim {
            addEmbedding = TimestepEmbedding(weights.scoped("add_embedding"), inChannels: inputWidth, timeEmbeddingDimension: embeddingWidth)
        } else {
            addEmbedding = nil
        }

        // Down path.
        var downs: [UNetDownBlock] = []
        var channels = firstChannels
        for (index, level) in levels.enumerated() {
            let scope = weights.scoped("down_blocks").scoped(index)
            let hasAttention = configuration.downBlockTypes[index] == "CrossAttnDownBlock2D"
            var resnets: [ResnetBlock2D] = []
            var attentions: [Transformer2DModel] = []
            for layer in 0..<level.layers {
                resnets.append(ResnetBlock2D(
                    scope.scoped("resnets").scoped(layer), inChannels: layer == 0 ? channels : level.outChannels,
                    outChannels: level.outChannels, timeEmbeddingChannels: embeddingWidth, groups: groups, epsilon: epsilon))
                if hasAttention {
                    attentions.append(transformer(
                        scope.scoped("attentions").scoped(layer), channels: level.outChannels, level: level, depth: depths.down[index][layer]))
                }
            }
            let isFinal = index == levels.count - 1
            let downsampler = isFinal ? nil : Downsample2D(
                scope.scoped("downsamplers").scoped(0), channels: level.outChannels, padding: configuration.downsamplePadding)
            downs.append(UNetDownBlock(resnets: resnets, attentions: attentions, downsampler: downsampler))
            channels = level.outChannels
        }
        downBlocks = downs

        // Middle.
        if configuration.midBlockType != nil, let last = levels.last {
            let scope = weights.scoped("mid_block")
            let width = last.outChannels
            let resnets = (0..<2).map { index in
                ResnetBlock2D(
                    scope.scoped("resnets").scoped(index), inChannels: width, outChannels: width,
                    timeEmbeddingChannels: embeddingWidth, groups: groups, epsilon: epsilon,
                    outputScaleFactor: configuration.midBlockScaleFactor)
            }
            midBlock = UNetMidBlock(resnets: resnets, attentions: [transformer(scope.scoped("attentions").scoped(0), channels: width, level: last, depth: depths.mid)])
        } else {
            midBlock = nil
        }

        // Up path: levels reversed; each resnet eats the matching skip.
        let reversed = Array(levels.reversed())
        var ups: [UNetUpBlock] = []
        var previousOut = reversed[0].outChannels
        for (index, level) in reversed.enumerated() {
            let scope = weights.scoped("up_blocks").scoped(index)
            let hasAttention = configuration.upBlockTypes[index] == "CrossAttnUpBlock2D"
            let skipSourceChannels = reversed[min(index + 1, reversed.count - 1)].outChannels
            let layerCount = level.layers + 1
            var resnets: [ResnetBlock2D] = []
            var attentions: [Transformer2DModel] = []
            for layer in 0..<layerCount {
                let skipChannels = layer == layerCount - 1 ? skipSourceChannels : level.outChannels
                let inputChannels = layer == 0 ? previousOut : level.outChannels
                resnets.append(ResnetBlock2D(
                    scope.scoped("resnets").scoped(layer), inChannels: inputChannels + skipChannels,
                    outChannels: level.outChannels, timeEmbeddingChannels: embeddingWidth, groups: groups, epsilon: epsilon))
                if hasAttention {
                    attentions.append(transformer(
                        scope.scoped("attentions").scoped(layer), channels: level.outChannels, level: level, depth: depths.up[index][layer]))
                }
            }
            let isFinal = index == reversed.count - 1
            let upsampler = isFinal ? nil : Upsample2D(scope.scoped("upsamplers").scoped(0), channels: level.outChannels)
            ups.append(UNetUpBlock(resnets: resnets, attentions: attentions, upsampler: upsampler))
            previousOut = level.outChannels
        }
        upBlocks = ups

        convNormOut = GroupNorm(weights.scoped("conv_norm_out"), groups: groups, channels: firstChannels, epsilon: epsilon)
        convOut = Conv2d(weights.scoped("conv_out"), inChannels: firstChannels, outChannels: configuration.outChannels, kernelSize: 3, padding: 1)
        self.widths = widths
    }

    /// Predicts noise (or v) for `inputs`, with `masks` applied inline to heads and FFN neurons.
    ///
    /// - Returns: `[B, Cout, h, w]`.
    /// - Throws: ``UNetInputError`` when an input is missing or mis-shaped.
    public func callAsFunction(_ inputs: UNetInputs, masks: UnitMasks = .none) throws(UNetInputError) -> Tensor {
        let sample = inputs.sample
        guard sample.rank == 4, sample.shape[1] == configuration.inChannels else {
            throw .shape(name: "sample", expected: "[B, \(configuration.inChannels), h, w]", actual: sample.shape)
        }
        let batch = sample.shape[0]
        let context = inputs.encoderHiddenStates
        guard context.rank == 3, context.shape[0] == batch else {
            throw .shape(name: "encoder_hidden_states", expected: "[\(batch), S, D]", actual: context.shape)
        }
        let timesteps = try broadcastTimesteps(inputs.timestep, batch: batch)

        // Time embedding (float32 sinusoids as diffusers), plus SDXL's text_time embedding.
        let firstChannels = configuration.blockOutChannels[0]
        let projected = sinusoidalTimestepEmbedding(
            timesteps, dimension: firstChannels, flipSinToCos: configuration.flipSinToCos,
            downscaleFrequencyShift: Float(configuration.freqShift))
        var embedding = timeEmbedding(projected, condition: inputs.timestepCondition)
        if let addEmbedding, let timeWidth = configuration.additionTimeEmbedDim {
            guard let textEmbeds = inputs.textEmbeds else {
                throw .missing(name: "text_embeds", reason: "the model uses addition_embed_type text_time")
            }
            guard let timeIDs = inputs.timeIDs else {
                throw .missing(name: "time_ids", reason: "the model uses addition_embed_type text_time")
            }
            guard timeIDs.rank == 2, timeIDs.shape[0] == batch else {
                throw .shape(name: "time_ids", expected: "[\(batch), n]", actual: timeIDs.shape)
            }
            let timeEmbeds = sinusoidalTimestepEmbedding(
                timeIDs.reshaped([-1]), dimension: timeWidth, flipSinToCos: configuration.flipSinToCos,
                downscaleFrequencyShift: Float(configuration.freqShift)
            ).reshaped([batch, -1])
            guard textEmbeds.rank == 2, textEmbeds.shape[0] == batch,
                textEmbeds.shape[1] + timeEmbeds.shape[1] == addEmbedding.linear1.inFeatures
            else {
                throw .shape(
                    name: "text_embeds", expected: "[\(batch), \(addEmbedding.linear1.inFeatures - timeEmbeds.shape[1])]",
                    actual: textEmbeds.shape)
            }
            embedding = embedding + addEmbedding(concatenate([textEmbeds, timeEmbeds], axis: -1))
        }

        var h = convIn(sample)
        var skips = [h]
        for block in downBlocks {
            h = block(h, embedding: embedding, context: context, masks: masks, skips: &skips)
        }
        if let midBlock { h = midBlock(h, embedding: embedding, context: context, masks: masks) }
        for block in upBlocks {
            h = block(h, embedding: embedding, context: context, masks: masks, skips: &skips)
        }
        return convOut(convNormOut(h).silu())
    }

    private func broadcastTimesteps(_ timestep: Tensor, batch: Int) throws(UNetInputError) -> Tensor {
        if timestep.count == batch { return timestep.reshaped([batch]) }
        guard timestep.count == 1 else {
            throw .shape(name: "timestep", expected: "[\(batch)], [1] or a scalar", actual: timestep.shape)
        }
        return Tensor(Array(repeating: timestep.item(), count: batch), shape: [batch])
    }
}
