import PruneNN
import PruneTensor

/// The inputs of one FLUX transformer call, named as diffusers' `forward` arguments.
public struct FluxInputs {
    /// `hidden_states`: `[B, N, in_channels]` packed latents.
    public var hiddenStates: Tensor
    /// `encoder_hidden_states`: `[B, T, joint_attention_dim]`.
    public var encoderHiddenStates: Tensor
    /// `pooled_projections`: `[B, pooled_projection_dim]`.
    public var pooledProjections: Tensor
    /// `timestep`: `[B]`, `[1]` or a scalar, σ in [0, 1] (the model multiplies by 1000).
    public var timestep: Tensor
    /// `img_ids`: `[N, 3]`.
    public var imageIDs: Tensor
    /// `txt_ids`: `[T, 3]`.
    public var textIDs: Tensor
    /// `guidance`: `[B]`, `[1]` or a scalar; required exactly when the model has `guidance_embeds`.
    public var guidance: Tensor?

    public init(
        hiddenStates: Tensor, encoderHiddenStates: Tensor, pooledProjections: Tensor, timestep: Tensor, imageIDs: Tensor,
        textIDs: Tensor, guidance: Tensor? = nil
    ) {
        self.hiddenStates = hiddenStates
        self.encoderHiddenStates = encoderHiddenStates
        self.pooledProjections = pooledProjections
        self.timestep = timestep
        self.imageIDs = imageIDs
        self.textIDs = textIDs
        self.guidance = guidance
    }
}

/// Inputs that do not fit the model, named by their diffusers argument.
public enum FluxInputError: Error, Sendable, Equatable, CustomStringConvertible {
    case shape(name: String, expected: String, actual: [Int])
    case guidance(String)

    public var description: String {
        switch self {
        case .shape(let name, let expected, let actual): "input \(name): expected \(expected), got \(actual)"
        case .guidance(let reason): "input guidance: \(reason)"
        }
    }
}

extension FluxTransformer2DModel {
    /// Runs the model on `inputs` after checking every shape against the configuration, broadcasting a
    /// scalar `timestep`/`guidance` to the batch.
    ///
    /// - Returns: `[B, N, out_channels]`.
    /// - Throws: ``FluxInputError`` naming the first input that does not fit.
    public func callAsFunction(_ inputs: FluxInputs, masks: UnitMasks = .none) throws(FluxInputError) -> Tensor {
        let configuration = self.configuration
        let hidden = inputs.hiddenStates
        guard hidden.rank == 3, hidden.shape[2] == configuration.inChannels else {
            throw .shape(name: "hidden_states", expected: "[B, N, \(configuration.inChannels)]", actual: hidden.shape)
        }
        let (batch, imageLength) = (hidden.shape[0], hidden.shape[1])
        let text = inputs.encoderHiddenStates
        guard text.rank == 3, text.shape[0] == batch, text.shape[2] == configuration.jointAttentionDimension else {
            throw .shape(name: "encoder_hidden_states", expected: "[\(batch), T, \(configuration.jointAttentionDimension)]", actual: text.shape)
        }
        guard inputs.pooledProjections.shape == [batch, configuration.pooledProjectionDimension] else {
            throw .shape(name: "pooled_projections", expected: "[\(batch), \(configuration.pooledProjectionDimension)]", actual: inputs.pooledProjections.shape)
        }
        guard inputs.imageIDs.shape == [imageLength, 3] else {
            throw .shape(name: "img_ids", expected: "[\(imageLength), 3]", actual: inputs.imageIDs.shape)
        }
        guard inputs.textIDs.shape == [text.shape[1], 3] else {
            throw .shape(name: "txt_ids", expected: "[\(text.shape[1]), 3]", actual: inputs.textIDs.shape)
        }
        let timestep = try Self.perSample(inputs.timestep, batch: batch, name: "timestep")
        var guidance: Tensor?
        switch (configuration.guidanceEmbeds, inputs.guidance) {
        case (true, nil): throw .guidance("the model has guidance_embeds and needs a guidance value")
        case (false, .some): throw .guidance("the model has no guidance embedding (a schnell-style model)")
        case (true, let value?): guidance = try Self.perSample(value, batch: batch, name: "guidance")
        case (false, nil): guidance = nil
        }
        return self(
            hiddenStates: hidden, encoderHiddenStates: text, pooledProjections: inputs.pooledProjections,
            timestep: timestep, imageIDs: inputs.imageIDs, textIDs: inputs.textIDs, guidance: guidance, masks: masks)
    }

    /// `[B]` from `[B]`, `[1]` or a scalar.
    static func perSample(_ value: Tensor, batch: Int, name: String) throws(FluxInputError) -> Tensor {
        if value.count == batch { return value.reshaped([batch]) }
        guard value.count == 1 else { throw .shape(name: name, expected: "[\(batch)], [1] or a scalar", actual: value.shape) }
        return Tensor(Array(repeating: value.item(), count: batch), shape: [batch])
    }
}
