import PruneNN
import PruneTensor

/// One level of the U-Net's down path: `DownBlock2D` or `CrossAttnDownBlock2D` (resnets, optional
/// Transformer2DModels, optional stride-2 downsampler).
struct UNetDownBlock {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]
    let downsampler: Downsample2D?

    /// Runs the block and appends every output the up path concatenates later to `skips`.
    func callAsFunction(_ x: Tensor, embedding: Tensor, context: Tensor, masks: UnitMasks, skips: inout [Tensor]) -> Tensor {
        var h = x
        for (index, resnet) in resnets.enumerated() {
            h = resnet(h, embedding: embedding)
            if index < attentions.count { h = attentions[index](h, context: context, masks: masks) }
            skips.append(h)
        }
        if let downsampler {
            h = downsampler(h)
            skips.append(h)
        }
        return h
    }
}

/// `UNetMidBlock2DCrossAttn`: resnet, then (attention, resnet) per layer.
struct UNetMidBlock {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]

    func callAsFunction(_ x: Tensor, embedding: Tensor, context: Tensor, masks: UnitMasks) -> Tensor {
        var h = resnets[0](x, embedding: embedding)
        for (attention, resnet) in zip(attentions, resnets.dropFirst()) {
            h = attention(h, context: context, masks: masks)
            h = resnet(h, embedding: embedding)
        }
        return h
    }
}

/// One level of the up path: `UpBlock2D` or `CrossAttnUpBlock2D`. Each resnet takes `cat([h, skip], 1)`
/// with the most recent skip; the upsampler (all but the last level) resizes to the next skip's size.
struct UNetUpBlock {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]
    let upsampler: Upsample2D?

    func callAsFunction(_ x: Tensor, embedding: Tensor, context: Tensor, masks: UnitMasks, skips: inout [Tensor]) -> Tensor {
        var h = x
        for (index, resnet) in resnets.enumerated() {
            let skip = skips.removeLast()
            h = resnet(concatenate([h, skip], axis: 1), embedding: embedding)
            if index < attentions.count { h = attentions[index](h, context: context, masks: masks) }
        }
        // diffusers upsamples to the spatial size of the next skip (`upsample_size`); for latents divisible by
        // 2 per upsampler that is exactly 2×.
        if let upsampler, let next = skips.last { h = upsampler(h, size: (next.shape[2], next.shape[3])) }
        return h
    }
}
