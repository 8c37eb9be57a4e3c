import PruneNN
import PruneTensor

/// A structure that does not fit its configuration or its checkpoint.
public enum FluxStructureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The structure lists `actual` blocks of `kind` where the configuration has `expected`.
    case blockCount(kind: String, expected: Int, actual: Int)
    /// A width is negative.
    case negativeWidth(module: String, value: Int)
    /// A checkpoint tensor's shape does not determine a width (`key` with `shape`).
    case uninferable(key: String, shape: [Int], reason: String)

    public var description: String {
        switch self {
        case .blockCount(let kind, let expected, let actual): "structure has \(actual) \(kind) blocks, the configuration \(expected)"
        case .negativeWidth(let module, let value): "\(module): width \(value) is negative"
        case .uninferable(let key, let shape, let reason): "cannot infer the width from \(key) \(shape): \(reason)"
        }
    }
}

/// What a maskable module's units are.
public enum FluxUnitKind: String, Sendable, Codable {
    /// Joint-attention heads of a double block (`transformer_blocks.N.attn`).
    case doubleBlockAttentionHeads = "flux_double_attn"
    /// FFN neurons of a double block (`transformer_blocks.N.ff` / `.ff_context`).
    case feedForwardNeurons = "ffn"
    /// Attention heads of a single block (`single_transformer_blocks.N.attn`).
    case singleBlockAttentionHeads = "flux_single_attn"
    /// MLP neurons of a single block (`single_transformer_blocks.N.mlp`).
    case singleBlockMLPNeurons = "flux_single_mlp"
}

/// One module whose units (heads or neurons) carry a mask: its key, how many units, and what they are.
public struct FluxMaskableModule: Sendable, Equatable {
    public var key: String
    public var units: Int
    public var kind: FluxUnitKind
}

/// The per-module widths of a FLUX transformer: heads per attention and hidden width per FFN/MLP.
///
/// The unpruned default comes from a configuration; a pruned model has fewer heads in some blocks and
/// narrower FFNs. The model is built from this description, and parameter, head and neuron counts are
/// read from it, so they always agree with the model.
public struct FluxStructure: Sendable, Equatable, Codable {
    /// `transformer_blocks.N`, in order.
    public var doubleBlocks: [FluxDoubleBlockStructure]
    /// `single_transformer_blocks.N`, in order.
    public var singleBlocks: [FluxSingleBlockStructure]

    public init(doubleBlocks: [FluxDoubleBlockStructure], singleBlocks: [FluxSingleBlockStructure]) {
        self.doubleBlocks = doubleBlocks
        self.singleBlocks = singleBlocks
    }

    /// The unpruned structure of `configuration`: every block with all heads and full FFN width.
    public init(configuration: FluxConfiguration) {
        doubleBlocks = Array(
            repeating: FluxDoubleBlockStructure(
                attentionHeads: configuration.headCount, feedForwardWidth: configuration.feedForwardWidth,
                contextFeedForwardWidth: configuration.feedForwardWidth),
            count: configuration.doubleBlockCount)
        singleBlocks = Array(
            repeating: FluxSingleBlockStructure(attentionHeads: configuration.headCount, mlpWidth: configuration.singleMLPWidth),
            count: configuration.singleBlockCount)
    }

    /// Attention heads over all blocks (double + single).
    public var attentionHeadCount: Int {
        doubleBlocks.reduce(0) { $0 + $1.attentionHeads } + singleBlocks.reduce(0) { $0 + $1.attentionHeads }
    }

    /// FFN neurons over all blocks: double-block `ff` + `ff_context` hidden units plus single-block MLP units.
    public var feedForwardNeuronCount: Int {
        doubleBlocks.reduce(0) { $0 + $1.feedForwardWidth + $1.contextFeedForwardWidth }
            + singleBlocks.reduce(0) { $0 + $1.mlpWidth }
    }

    /// Every maskable module in model order (per double block: attn, ff, ff_context; per single block:
    /// attn, mlp), with the mask keys `UnitMasks` uses.
    public var maskableModules: [FluxMaskableModule] {
        var modules: [FluxMaskableModule] = []
        for (index, block) in doubleBlocks.enumerated() {
            let prefix = "transformer_blocks.\(index)"
            modules.append(FluxMaskableModule(key: "\(prefix).attn", units: block.attentionHeads, kind: .doubleBlockAttentionHeads))
            modules.append(FluxMaskableModule(key: "\(prefix).ff", units: block.feedForwardWidth, kind: .feedForwardNeurons))
            modules.append(FluxMaskableModule(key: "\(prefix).ff_context", units: block.contextFeedForwardWidth, kind: .feedForwardNeurons))
        }
        for (index, block) in singleBlocks.enumerated() {
            let prefix = "single_transformer_blocks.\(index)"
            modules.append(FluxMaskableModule(key: "\(prefix).attn", units: block.attentionHeads, kind: .singleBlockAttentionHeads))
            modules.append(FluxMaskableModule(key: "\(prefix).mlp", units: block.mlpWidth, kind: .singleBlockMLPNeurons))
        }
        return modules
    }

    /// Throws when the block counts differ from `configuration`'s or a width is negative.
    /// - Throws: ``FluxStructureError``.
    public func validate(against configuration: FluxConfiguration) throws(FluxStructureError) {
        guard doubleBlocks.count == configuration.doubleBlockCount else {
            throw .blockCount(kind: "double", expected: configuration.doubleBlockCount, actual: doubleBlocks.count)
        }
        guard singleBlocks.count == configuration.singleBlockCount else {
            throw .blockCount(kind: "single", expected: configuration.singleBlockCount, actual: singleBlocks.count)
        }
        for module in maskableModules where module.units < 0 { throw .negativeWidth(module: module.key, value: module.units) }
    }

    /// The structure a (possibly pruned) checkpoint was saved with, read from its tensor shapes: heads from
    /// the rows of `attn.to_q.weight` ÷ `headDimension`, widths from the rows of `ff.net.0.proj.weight`,
    /// `ff_context.net.0.proj.weight` and `proj_mlp.weight`. A module whose tensor is absent keeps the
    /// configuration's width (loading then reports the tensor missing).
    /// - Throws: ``FluxStructureError/uninferable(key:shape:reason:)`` when a shape is not `[rows, width]` or
    ///   the query rows are not a multiple of the head dimension.
    public static func inferred(from source: any TensorSource, configuration: FluxConfiguration) throws(FluxStructureError) -> FluxStructure {
        var structure = FluxStructure(configuration: configuration)
        func rows(_ key: String) throws(FluxStructureError) -> Int? {
            guard let shape = source.shape(of: key) else { return nil }
            guard shape.count == 2, shape[1] == configuration.innerDimension else {
                throw .uninferable(key: key, shape: shape, reason: "expected [rows, \(configuration.innerDimension)]")
            }
            return shape[0]
        }
        func heads(_ key: String) throws(FluxStructureError) -> Int? {
            guard let count = try rows(key) else { return nil }
            guard count % configuration.headDimension == 0 else {
                throw .uninferable(key: key, shape: source.shape(of: key) ?? [], reason: "rows are not a multiple of attention_head_dim \(configuration.headDimension)")
            }
            return count / configuration.headDimension
        }
        for index in structure.doubleBlocks.indices {
            let prefix = "transformer_blocks.\(index)"
            if let value = try heads("\(prefix).attn.to_q.weight") { structure.doubleBlocks[index].attentionHeads = value }
            if let value = try rows("\(prefix).ff.net.0.proj.weight") { structure.doubleBlocks[index].feedForwardWidth = value }
            if let value = try rows("\(prefix).ff_context.net.0.proj.weight") { structure.doubleBlocks[index].contextFeedForwardWidth = value }
        }
        for index in structure.singleBlocks.indices {
            let prefix = "single_transformer_blocks.\(index)"
            if let value = try heads("\(prefix).attn.to_q.weight") { structure.singleBlocks[index].attentionHeads = value }
            if let value = try rows("\(prefix).proj_mlp.weight") { structure.singleBlocks[index].mlpWidth = value }
        }
        return structure
    }
}
