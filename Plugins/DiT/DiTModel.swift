import Foundation
import PrunePluginKit

/// One DiT (Peebles & Xie, "Scalable Diffusion Models with Transformers", ICCV 2023), with checkpoint keys
/// as in the reference implementation's `models.py` (`x_embedder.proj`, `t_embedder.mlp.{0,2}`,
/// `y_embedder.embedding_table`, `blocks.{i}.attn.{qkv,proj}`, `blocks.{i}.mlp.{fc1,fc2}`,
/// `blocks.{i}.adaLN_modulation.1`, `final_layer.{adaLN_modulation.1,linear}`). The fixed 2-D sin-cos
/// position embedding (`pos_embed`) is computed, not stored.
///
/// Units: the whole blocks of the list `blocks` (block `i` owns every `blocks.{i}.…` tensor), heads of
/// `blocks.{i}.attn` (their rows of q, k and v in `qkv`, their columns of `proj`) and neurons of
/// `blocks.{i}.mlp` (`fc1` rows, `fc2` columns). Masks are applied inline: head outputs × m before `proj`,
/// GELU activations × m before `fc2`, and block `i`'s output `x + m_i·(block_i(x) − x)` (at 0 the block is the
/// identity). Pruned exports load back with their widths read from the checkpoint (`qkv` rows / (3 · head
/// size), `fc1` rows) and their depth from `config.json` `depth` (the export writes the kept blocks' count and
/// renumbers them); a block with no heads (neurons) left adds `gate · proj.bias` (`gate · fc2.bias`), as the
/// masked model does.
///
/// Models built from a seed use PyTorch's default fan-in init everywhere, not DiT's zero init of the
/// modulation: with adaLN-Zero every block starts as the identity and no unit could be scored.
final class DiTModel: PluginModelInstance {
    struct Linear {
        let weight: HostTensor
        let bias: HostTensor?
        func callAsFunction(_ x: HostTensor) throws -> HostTensor { try x.linear(weight: weight, bias: bias) }
    }

    struct Block {
        let heads: Int
        let mlpWidth: Int
        let qkv: Linear
        let proj: Linear
        let fc1: Linear
        let fc2: Linear
        let modulation: Linear
    }

    let configuration: DiTConfiguration
    let patchEmbedding: (weight: HostTensor, bias: HostTensor)
    let timestepMLP: (Linear, Linear)
    let labelTable: HostTensor
    let blocks: [Block]
    let finalModulation: Linear
    let finalLinear: Linear

    init(configuration c: DiTConfiguration, builder: ModelBuilderView) throws {
        configuration = c
        func linear(_ key: String, out: Int, in width: Int, bias: Bool = true) throws -> Linear {
            Linear(
                weight: try builder.parameter("\(key).weight", shape: [out, width], initialization: .fanInUniform(fanIn: width)),
                bias: bias ? try builder.parameter("\(key).bias", shape: [out], initialization: .fanInUniform(fanIn: width)) : nil)
        }
        let d = c.hiddenSize
        let patchFanIn = c.inChannels * c.patchSize * c.patchSize
        patchEmbedding = (
            try builder.parameter("x_embedder.proj.weight", shape: [d, c.inChannels, c.patchSize, c.patchSize], initialization: .fanInUniform(fanIn: patchFanIn)),
            try builder.parameter("x_embedder.proj.bias", shape: [d], initialization: .fanInUniform(fanIn: patchFanIn))
        )
        timestepMLP = (try linear("t_embedder.mlp.0", out: d, in: c.frequencyEmbeddingSize), try linear("t_embedder.mlp.2", out: d, in: d))
        labelTable = try builder.parameter(
            "y_embedder.embedding_table.weight", shape: [c.numClasses + 1, d], initialization: .normal(standardDeviation: 0.02))
        var blocks: [Block] = []
        for index in 0..<c.depth {
            let prefix = "blocks.\(index)"
            let hd = c.headDimension
            // Pruned checkpoints carry fewer heads / neurons: read the widths from the stored shapes.
            let heads = try builder.checkpointShape("\(prefix).attn.qkv.weight").map { $0[0] / (3 * hd) } ?? c.numHeads
            let mlpWidth = try builder.checkpointShape("\(prefix).mlp.fc1.weight").map { $0[0] } ?? d * c.mlpRatio
            let block = Block(
                heads: heads, mlpWidth: mlpWidth, qkv: try linear("\(prefix).attn.qkv", out: 3 * heads * hd, in: d),
                proj: try linear("\(prefix).attn.proj", out: d, in: heads * hd), fc1: try linear("\(prefix).mlp.fc1", out: mlpWidth, in: d),
                fc2: try linear("\(prefix).mlp.fc2", out: d, in: mlpWidth), modulation: try linear("\(prefix).adaLN_modulation.1", out: 6 * d, in: d))
            try builder.unitGroup(
                "\(prefix).attn", kind: .attentionHead, units: heads,
                slices: (0..<3).flatMap { part in
                    [("\(prefix).attn.qkv.weight", 0, part * heads * hd, hd), ("\(prefix).attn.qkv.bias", 0, part * heads * hd, hd)]
                } + [("\(prefix).attn.proj.weight", 1, 0, hd)])
            try builder.unitGroup(
                "\(prefix).mlp", kind: .feedForwardNeuron, units: mlpWidth,
                slices: [("\(prefix).mlp.fc1.weight", 0, 0, 1), ("\(prefix).mlp.fc1.bias", 0, 0, 1), ("\(prefix).mlp.fc2.weight", 1, 0, 1)])
            blocks.append(block)
        }
        self.blocks = blocks
        try builder.blockList("blocks", blocks: c.depth, depthKey: "depth")
        finalModulation = try linear("final_layer.adaLN_modulation.1", out: 2 * d, in: d)
        finalLinear = try linear("final_layer.linear", out: c.patchSize * c.patchSize * c.outChannels, in: d)
    }

    func forward(_ call: ForwardCallView) throws -> HostTensor {
        try forward(sample: try call.input("sample"), timestep: try call.input("timestep"), classLabels: try call.input("class_labels"), call: call)
    }

    /// ε for the scheduler: the first `in_channels` output channels, with classifier-free guidance
    /// `ε_u + s (ε_c − ε_u)` against the null class when the call's guidance scale exceeds 1.
    func predict(_ call: ForwardCallView) throws -> HostTensor {
        let sample = try call.input("sample")
        let timestep = try call.input("timestep")
        let labels = try call.input("class_labels")
        let channels = configuration.inChannels
        let conditional = try forward(sample: sample, timestep: timestep, classLabels: labels, call: call).sliced(axis: 1, 0..<channels)
        let scale = try call.guidance()
        guard scale > 1 else { return conditional }
        let batch = try labels.shape[0]
        var null = [Float](repeating: 0, count: batch * (configuration.numClasses + 1))
        for row in 0..<batch { null[row * (configuration.numClasses + 1) + configuration.numClasses] = 1 }
        let nullLabels = try HostTensor(null, shape: [batch, configuration.numClasses + 1])
        let unconditional = try forward(sample: sample, timestep: timestep, classLabels: nullLabels, call: call).sliced(axis: 1, 0..<channels)
        return try unconditional + (conditional - unconditional) * scale
    }

    /// The DiT forward: `sample` `[B, C, H, W]`, `timestep` `[B]` or `[1]`, `class_labels` `[B, 1001]` →
    /// `[B, outChannels, H, W]`.
    func forward(sample: HostTensor, timestep: HostTensor, classLabels: HostTensor, call: ForwardCallView) throws -> HostTensor {
        let c = configuration
        let shape = try sample.shape
        guard shape.count == 4, shape[1] == c.inChannels, shape[2] % c.patchSize == 0, shape[3] % c.patchSize == 0 else {
            throw PluginFailure.invalidArgument("DiT sample must be [B, \(c.inChannels), H, W] with H, W multiples of \(c.patchSize), got \(shape)")
        }
        let (batch, gridHeight, gridWidth) = (shape[0], shape[2] / c.patchSize, shape[3] / c.patchSize)
        let tokens = gridHeight * gridWidth
        let d = c.hiddenSize

        // Patches → tokens [B, T, D], plus the fixed position embedding.
        var x = try sample.conv2d(weight: patchEmbedding.weight, bias: patchEmbedding.bias, stride: (c.patchSize, c.patchSize))
            .reshaped([batch, d, tokens]).permuted([0, 2, 1])
        x = try x + HostTensor(Self.positionEmbedding(width: d, gridHeight: gridHeight, gridWidth: gridWidth), shape: [1, tokens, d])

        // Conditioning c = t_emb + y_emb  [B, D].
        let frequencies = try HostTensor(Self.timestepEmbedding(try timestep.values(), batch: batch, width: c.frequencyEmbeddingSize), shape: [batch, c.frequencyEmbeddingSize])
        let timeEmbedding = try timestepMLP.1(try timestepMLP.0(frequencies).silu())
        let labelShape = try classLabels.shape
        guard labelShape == [batch, c.numClasses + 1] else {
            throw PluginFailure.invalidArgument("DiT class_labels must be [\(batch), \(c.numClasses + 1)], got \(labelShape)")
        }
        let condition = try (timeEmbedding + classLabels.matmul(labelTable)).silu()

        let blockMask = try call.mask("blocks")
        for (index, block) in blocks.enumerated() {
            let blockInput = x
            let modulation = try block.modulation(condition)
            let chunk = { (i: Int) throws -> HostTensor in try modulation.sliced(axis: 1, i * d..<(i + 1) * d).reshaped([batch, 1, d]) }
            let (shiftAttention, scaleAttention, gateAttention) = (try chunk(0), try chunk(1), try chunk(2))
            let (shiftMLP, scaleMLP, gateMLP) = (try chunk(3), try chunk(4), try chunk(5))

            let attentionInput = try Self.modulate(x.layerNorm(epsilon: 1e-6), shift: shiftAttention, scale: scaleAttention)
            let attention = try self.attention(attentionInput, block: block, mask: call.mask("blocks.\(index).attn"), batch: batch, tokens: tokens)
            x = try x + gateAttention * attention

            let mlpInput = try Self.modulate(x.layerNorm(epsilon: 1e-6), shift: shiftMLP, scale: scaleMLP)
            let mlp = try self.mlp(mlpInput, block: block, mask: call.mask("blocks.\(index).mlp"), batch: batch, tokens: tokens)
            x = try x + gateMLP * mlp
            x = try HostTensor.blockMasked(input: blockInput, output: x, mask: blockMask, index: index)
        }

        let finalModulation = try self.finalModulation(condition)
        let shift = try finalModulation.sliced(axis: 1, 0..<d).reshaped([batch, 1, d])
        let scale = try finalModulation.sliced(axis: 1, d..<2 * d).reshaped([batch, 1, d])
        let patches = try finalLinear(try Self.modulate(x.layerNorm(epsilon: 1e-6), shift: shift, scale: scale))
        // Unpatchify: [B, h, w, p, p, C] → [B, C, h, p, w, p] → [B, C, H, W].
        let p = c.patchSize
        return try patches.reshaped([batch, gridHeight, gridWidth, p, p, c.outChannels]).permuted([0, 5, 1, 3, 2, 4])
            .reshaped([batch, c.outChannels, gridHeight * p, gridWidth * p])
    }

    /// Multi-head self-attention with the head mask applied to each head's output before `proj`.
    private func attention(_ x: HostTensor, block: Block, mask: HostTensor?, batch: Int, tokens: Int) throws -> HostTensor {
        let hd = configuration.headDimension
        guard block.heads > 0 else { return try block.proj(HostTensor.full([batch, tokens, 0], value: 0)) }
        let qkv = try block.qkv(x).reshaped([batch, tokens, 3, block.heads, hd]).permuted([2, 0, 3, 1, 4])
        let part = { (i: Int) throws -> HostTensor in try qkv.sliced(axis: 0, i..<i + 1).reshaped([batch, block.heads, tokens, hd]) }
        var heads = try part(0).attention(key: part(1), value: part(2))
        if let mask { heads = try heads * mask.reshaped([1, block.heads, 1, 1]) }
        return try block.proj(heads.permuted([0, 2, 1, 3]).reshaped([batch, tokens, block.heads * hd]))
    }

    /// `fc2(GELU_tanh(fc1(x)) ⊙ m)`.
    private func mlp(_ x: HostTensor, block: Block, mask: HostTensor?, batch: Int, tokens: Int) throws -> HostTensor {
        guard block.mlpWidth > 0 else { return try block.fc2(HostTensor.full([batch, tokens, 0], value: 0)) }
        var hidden = try block.fc1(x).gelu(approximateWithTanh: true)
        if let mask { hidden = try hidden * mask.reshaped([1, 1, block.mlpWidth]) }
        return try block.fc2(hidden)
    }

    /// `x · (1 + scale) + shift`.
    static func modulate(_ x: HostTensor, shift: HostTensor, scale: HostTensor) throws -> HostTensor {
        try x * (scale + 1) + shift
    }

    /// DiT's `TimestepEmbedder.timestep_embedding`: `[cos(t·f), sin(t·f)]` with `f_i = 10000^(−i/half)`,
    /// `[batch, width]` (a one-element `timesteps` is broadcast over the batch).
    static func timestepEmbedding(_ timesteps: [Float], batch: Int, width: Int) throws -> [Float] {
        guard timesteps.count == batch || timesteps.count == 1 else {
            throw PluginFailure.invalidArgument("DiT timestep must have 1 or \(batch) values, got \(timesteps.count)")
        }
        let half = width / 2
        var result = [Float](repeating: 0, count: batch * width)
        for row in 0..<batch {
            let t = Double(timesteps[timesteps.count == 1 ? 0 : row])
            for i in 0..<half {
                let argument = t * Foundation.exp(-Foundation.log(10000.0) * Double(i) / Double(half))
                result[row * width + i] = Float(Foundation.cos(argument))
                result[row * width + half + i] = Float(Foundation.sin(argument))
            }
        }
        return result
    }

    /// DiT's `get_2d_sincos_pos_embed` for a `gridHeight × gridWidth` grid: per token, the 1-D sin-cos
    /// embedding (`width/2` channels) of its column, then of its row. `[tokens, width]`, row-major tokens.
    static func positionEmbedding(width: Int, gridHeight: Int, gridWidth: Int) -> [Float] {
        let quarter = width / 4
        func encode(_ position: Int, into row: inout ArraySlice<Float>) {
            let start = row.startIndex
            for i in 0..<quarter {
                let omega = 1 / Foundation.pow(10000.0, Double(i) / Double(quarter))
                let value = Double(position) * omega
                row[start + i] = Float(Foundation.sin(value))
                row[start + quarter + i] = Float(Foundation.cos(value))
            }
        }
        var result = [Float](repeating: 0, count: gridHeight * gridWidth * width)
        for r in 0..<gridHeight {
            for col in 0..<gridWidth {
                let base = (r * gridWidth + col) * width
                var first = result[base..<base + width / 2]
                encode(col, into: &first)
                result.replaceSubrange(base..<base + width / 2, with: first)
                var second = result[base + width / 2..<base + width]
                encode(r, into: &second)
                result.replaceSubrange(base + width / 2..<base + width, with: second)
            }
        }
        return result
    }
}
