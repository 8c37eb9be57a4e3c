import Foundation
import PrunePluginKit

/// One TinyDenoiser. Its parameters live in the host (a `HostTensor` is a handle), so PruneKit can slice
/// them, export them and reload them without knowing this type; every operation below is a host operation
/// recorded on the host's autodiff tape, so mask gradients and time-step checkpointing work unchanged.
final class TinyDenoiserModel: PluginModelInstance {
    /// `x · Wᵀ + b` on host tensors.
    struct Linear {
        let weight: HostTensor, bias: HostTensor
        func callAsFunction(_ x: HostTensor) throws -> HostTensor { try x.linear(weight: weight, bias: bias) }
    }

    struct Block {
        let heads: Int, ffnWidth: Int
        let norm1: (HostTensor, HostTensor), norm2: (HostTensor, HostTensor)
        let query: Linear, key: Linear, value: Linear, out: Linear
        let up: Linear, down: Linear
    }

    let channels: Int, sampleSize: Int, patch: Int, hidden: Int, headSize: Int, frequencies: Int
    let patchEmbedding: (weight: HostTensor, bias: HostTensor)
    let positionEmbedding: HostTensor
    let time: (Linear, Linear)
    let blocks: [Block]
    let projectOut: Linear

    /// Reads the configuration, declares every parameter by checkpoint key, and declares the unit groups.
    init(_ builder: ModelBuilderView) throws {
        // The configuration values are the preset's JSON, or the `config.json` of a loaded directory.
        channels = try builder.configInt("in_channels")
        sampleSize = try builder.configInt("sample_size")
        patch = try builder.configInt("patch_size")
        hidden = try builder.configInt("hidden_size")
        frequencies = try builder.configInt("frequency_embedding_size")
        let (layers, configuredHeads, configuredFFN) = (
            try builder.configInt("num_layers"), try builder.configInt("num_attention_heads"), try builder.configInt("ffn_dim")
        )
        guard channels >= 1, patch >= 1, sampleSize % patch == 0, configuredHeads >= 1, hidden % configuredHeads == 0, layers >= 0,
            frequencies >= 2, frequencies % 2 == 0
        else { throw PluginFailure.invalidArgument("TinyDenoiser: inconsistent configuration (hidden \(hidden), heads \(configuredHeads), patch \(patch))") }
        let (d, headSize) = (hidden, hidden / configuredHeads)
        self.headSize = headSize

        // `parameter(key, shape:, initialization:)` returns the checkpoint's tensor (checked against `shape`)
        // or, for a preset, a fresh one drawn from the seed.
        func linear(_ key: String, out: Int, in width: Int) throws -> Linear {
            Linear(
                weight: try builder.parameter("\(key).weight", shape: [out, width], initialization: .fanInUniform(fanIn: width)),
                bias: try builder.parameter("\(key).bias", shape: [out], initialization: .fanInUniform(fanIn: width)))
        }
        func norm(_ key: String) throws -> (HostTensor, HostTensor) {
            (try builder.parameter("\(key).weight", shape: [d], initialization: .ones), try builder.parameter("\(key).bias", shape: [d], initialization: .zeros))
        }
        let patchFanIn = channels * patch * patch
        patchEmbedding = (
            try builder.parameter("patch_embed.weight", shape: [d, channels, patch, patch], initialization: .fanInUniform(fanIn: patchFanIn)),
            try builder.parameter("patch_embed.bias", shape: [d], initialization: .fanInUniform(fanIn: patchFanIn))
        )
        let tokens = (sampleSize / patch) * (sampleSize / patch)
        positionEmbedding = try builder.parameter("pos_embed", shape: [1, tokens, d], initialization: .normal(standardDeviation: 0.02))
        time = (try linear("time_embed.linear_1", out: d, in: frequencies), try linear("time_embed.linear_2", out: d, in: d))

        var blocks: [Block] = []
        for index in 0..<layers {
            let prefix = "blocks.\(index)"
            // Step 4 — pruned widths. An export of a pruned model keeps this config (4 heads, FFN 128) but
            // stores fewer rows; `checkpointShape` (nil for a preset) reads the real head count and width.
            let heads = try builder.checkpointShape("\(prefix).attn.to_q.weight").map { $0[0] / headSize } ?? configuredHeads
            let ffnWidth = try builder.checkpointShape("\(prefix).ff.up.weight").map { $0[0] } ?? configuredFFN
            let inner = heads * headSize
            blocks.append(
                Block(
                    heads: heads, ffnWidth: ffnWidth, norm1: try norm("\(prefix).norm1"), norm2: try norm("\(prefix).norm2"),
                    query: try linear("\(prefix).attn.to_q", out: inner, in: d), key: try linear("\(prefix).attn.to_k", out: inner, in: d),
                    value: try linear("\(prefix).attn.to_v", out: inner, in: d), out: try linear("\(prefix).attn.to_out", out: d, in: inner),
                    up: try linear("\(prefix).ff.up", out: ffnWidth, in: d), down: try linear("\(prefix).ff.down", out: d, in: ffnWidth)))

            // Step 5 — unit groups: which parameter entries each unit owns. Unit u of a slice
            // (key, axis, offset, width) owns `offset + u·width ..< offset + (u+1)·width` along `axis`.
            // Criteria score these entries; surgery deletes them; the module key names the mask.
            let headSlices = ["to_q", "to_k", "to_v"].flatMap { name in
                [("\(prefix).attn.\(name).weight", 0, 0, headSize), ("\(prefix).attn.\(name).bias", 0, 0, headSize)]
            }
            try builder.unitGroup(
                "\(prefix).attn", kind: .attentionHead, units: heads, slices: headSlices + [("\(prefix).attn.to_out.weight", 1, 0, headSize)])
            try builder.unitGroup(
                "\(prefix).ff", kind: .feedForwardNeuron, units: ffnWidth,
                slices: [("\(prefix).ff.up.weight", 0, 0, 1), ("\(prefix).ff.up.bias", 0, 0, 1), ("\(prefix).ff.down.weight", 1, 0, 1)])
        }
        self.blocks = blocks
        projectOut = try linear("proj_out", out: patch * patch * channels, in: d)
    }

    /// Step 6 — the masked forward: `sample` `[B, C, H, W]` and `timestep` `[1]` or `[B]` → velocity
    /// `[B, C, H, W]`. `call.mask(module)` is `nil` when unmasked, else one value per unit. No `predict`
    /// override: the velocity is what the scheduler consumes (no guidance, no extra channels).
    func forward(_ call: ForwardCallView) throws -> HostTensor {
        let sample = try call.input("sample")
        let shape = try sample.shape
        guard shape.count == 4, shape[1] == channels, shape[2] == sampleSize, shape[3] == sampleSize else {
            // Misuse is an error with context, never a trap (prune with --height/--width = 8·sample_size).
            throw PluginFailure.invalidArgument("TinyDenoiser sample must be [B, \(channels), \(sampleSize), \(sampleSize)], got \(shape)")
        }
        let (batch, grid, d) = (shape[0], sampleSize / patch, hidden)
        let tokens = grid * grid

        // Patches → tokens [B, T, D] + positions + timestep embedding.
        var x = try sample.conv2d(weight: patchEmbedding.weight, bias: patchEmbedding.bias, stride: (patch, patch))
            .reshaped([batch, d, tokens]).permuted([0, 2, 1]) + positionEmbedding
        let timesteps = try call.input("timestep").values()
        let embedding = try HostTensor(Self.sinusoidal(timesteps, batch: batch, width: frequencies), shape: [batch, frequencies])
        x = try x + time.1(time.0(embedding).silu()).reshaped([batch, 1, d])

        for (index, block) in blocks.enumerated() {
            let attention = try self.attention(x.layerNorm(weight: block.norm1.0, bias: block.norm1.1), block, call.mask("blocks.\(index).attn"))
            x = try x + attention
            var hidden = try block.up(x.layerNorm(weight: block.norm2.0, bias: block.norm2.1)).gelu()
            if let mask = try call.mask("blocks.\(index).ff") { hidden = try hidden * mask.reshaped([1, 1, block.ffnWidth]) }  // inline FFN mask
            x = try x + block.down(hidden)
        }

        // Tokens → patches → [B, C, H, W].
        let patches = try projectOut(x.layerNorm())
        return try patches.reshaped([batch, grid, grid, patch, patch, channels]).permuted([0, 5, 1, 3, 2, 4])
            .reshaped([batch, channels, sampleSize, sampleSize])
    }

    /// Self-attention with each head's output × its mask before `to_out`. A block whose heads were all
    /// pruned adds `to_out.bias`, exactly what the fully masked model computes.
    private func attention(_ x: HostTensor, _ block: Block, _ mask: HostTensor?) throws -> HostTensor {
        let (batch, tokens) = (try x.shape[0], try x.shape[1])
        guard block.heads > 0 else { return try block.out(HostTensor.full([batch, tokens, 0], value: 0)) }
        func split(_ projection: Linear) throws -> HostTensor {
            try projection(x).reshaped([batch, tokens, block.heads, headSize]).permuted([0, 2, 1, 3])  // [B, heads, T, head size]
        }
        var heads = try split(block.query).attention(key: split(block.key), value: split(block.value))
        if let mask { heads = try heads * mask.reshaped([1, block.heads, 1, 1]) }  // inline head mask
        return try block.out(heads.permuted([0, 2, 1, 3]).reshaped([batch, tokens, block.heads * headSize]))
    }

    /// `[cos(t·fᵢ), sin(t·fᵢ)]`, `fᵢ = 10000^(−i/half)`, as `[batch, width]` values (one timestep is broadcast).
    static func sinusoidal(_ timesteps: [Float], batch: Int, width: Int) throws -> [Float] {
        guard timesteps.count == 1 || timesteps.count == batch else {
            throw PluginFailure.invalidArgument("TinyDenoiser timestep must have 1 or \(batch) values, got \(timesteps.count)")
        }
        let half = width / 2
        return (0..<batch).flatMap { row -> [Float] in
            let t = Double(timesteps[timesteps.count == 1 ? 0 : row])
            let angles = (0..<half).map { t * exp(-log(10000.0) * Double($0) / Double(half)) }
            return angles.map { Float(cos($0)) } + angles.map { Float(sin($0)) }
        }
    }
}
