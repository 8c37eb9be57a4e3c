import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// Where a `Transformer2DModel` sits in the U-Net.
enum TransformerPosition: Equatable {
    /// `down_blocks.<block>.attentions.<layer>`.
    case down(block: Int, layer: Int)
    /// `mid_block.attentions.0`.
    case mid
    /// `up_blocks.<block>.attentions.<layer>` (up-block order).
    case up(block: Int, layer: Int)
}

extension UNet2DConditionModel {
    /// Every `Transformer2DModel` with its position, in execution order (down blocks, mid block, up blocks).
    var transformerModels: [(position: TransformerPosition, model: Transformer2DModel)] {
        var result: [(TransformerPosition, Transformer2DModel)] = []
        for (block, down) in downBlocks.enumerated() {
            for (layer, model) in down.attentions.enumerated() { result.append((.down(block: block, layer: layer), model)) }
        }
        if let midBlock { result += midBlock.attentions.map { (.mid, $0) } }
        for (block, up) in upBlocks.enumerated() {
            for (layer, model) in up.attentions.enumerated() { result.append((.up(block: block, layer: layer), model)) }
        }
        return result
    }

    /// One ``UnitKind/block`` group per `Transformer2DModel` with blocks: the list
    /// `<attention>.transformer_blocks`, block `u` owning every parameter under `<list>.<u>.` (norms, `attn1`,
    /// `attn2`, `ff`).
    public var blockListGroups: [UnitGroup] {
        transformerModels.map(\.model).filter { !$0.blocks.isEmpty }.map { model in
            UnitGroup.blocks(
                listKey: model.blockListKey, count: model.blocks.count, parameterKeys: model.blocks.flatMap(Self.parameterKeys(of:)))
        }
    }

    /// The checkpoint keys of one `BasicTransformerBlock`'s parameters.
    static func parameterKeys(of block: BasicTransformerBlock) -> [String] {
        let prefix = String(block.selfAttention.moduleKey.dropLast("attn1".count))
        func keys(_ name: String, weight: Tensor?, bias: Tensor?) -> [String] {
            (weight == nil ? [] : ["\(name).weight"]) + (bias == nil ? [] : ["\(name).bias"])
        }
        var result: [String] = []
        for (name, norm) in [("norm1", block.norm1), ("norm2", block.norm2), ("norm3", block.norm3)] {
            result += keys(prefix + name, weight: norm.weight, bias: norm.bias)
        }
        for attention in [block.selfAttention, block.crossAttention] {
            for (name, linear) in [("to_q", attention.toQuery), ("to_k", attention.toKey), ("to_v", attention.toValue), ("to_out.0", attention.toOut)] {
                result += keys("\(attention.moduleKey).\(name)", weight: linear.weight, bias: linear.bias)
            }
        }
        let feedForward = block.feedForward
        result += keys("\(feedForward.moduleKey).net.0.proj", weight: feedForward.projectIn.weight, bias: feedForward.projectIn.bias)
        result += keys("\(feedForward.moduleKey).net.2", weight: feedForward.projectOut.weight, bias: feedForward.projectOut.bias)
        return result
    }

    /// The identity blocks an export of `selection` adds so diffusers can read its depths, by list key: the original
    /// indices of removed blocks that are written back, appended after the kept ones, with their three residual
    /// outputs (`attn1.to_out.0`, `attn2.to_out.0`, `ff.net.2`, weights and biases) zero, which makes them exactly
    /// the identity.
    ///
    /// diffusers gives the mid block the first depth of the last down block's entry of `transformer_layers_per_block`,
    /// so when the last down block has attentions, `mid_block.attentions.0` and `down_blocks.<last>.attentions.0`
    /// must keep the same number of blocks; the shallower one is padded to the deeper one's depth.
    /// - Throws: ``ExportError/invalidConfiguration(reason:)`` when the shallower list has too few removed blocks.
    func identityPadding(for selection: UnitSelection) throws(ExportError) -> [String: [Int]] {
        let models = transformerModels
        guard let mid = models.first(where: { $0.position == .mid })?.model,
            let lastDown = models.first(where: { $0.position == .down(block: downBlocks.count - 1, layer: 0) })?.model
        else { return [:] }
        let kept = [mid, lastDown].map { selection.keptUnits(of: Self.blockGroup(of: $0)) }
        let depth = max(kept[0].count, kept[1].count)
        var padding: [String: [Int]] = [:]
        for (model, keptBlocks) in zip([mid, lastDown], kept) where keptBlocks.count < depth {
            let removed = (0..<model.blocks.count).filter { !Set(keptBlocks).contains($0) }
            guard removed.count >= depth - keptBlocks.count else {
                throw .invalidConfiguration(
                    reason: "\(model.blockListKey) has \(model.blocks.count) blocks, too few to pad to the \(depth) its tied list keeps")
            }
            padding[model.blockListKey] = Array(removed.prefix(depth - keptBlocks.count))
        }
        return padding
    }

    /// The identity blocks of ``identityPadding(for:)`` as tensors under their exported keys
    /// (`<list>.<kept + i>.…`), copied from `parameters` with the residual outputs zeroed.
    func identityPaddingTensors(_ padding: [String: [Int]], selection: UnitSelection, parameters: [String: Tensor]) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        let zeroed = ["attn1.to_out.0.weight", "attn1.to_out.0.bias", "attn2.to_out.0.weight", "attn2.to_out.0.bias", "ff.net.2.weight", "ff.net.2.bias"]
        for model in transformerModels.map(\.model) {
            guard let sources = padding[model.blockListKey] else { continue }
            let keptCount = selection.keptUnits(of: Self.blockGroup(of: model)).count
            for (offset, source) in sources.enumerated() {
                let from = "\(model.blockListKey).\(source)."
                let to = "\(model.blockListKey).\(keptCount + offset)."
                for key in Self.parameterKeys(of: model.blocks[source]) {
                    guard let tensor = parameters[key] else { continue }
                    let name = String(key.dropFirst(from.count))
                    result[to + name] = zeroed.contains(name) ? Tensor.zeros(tensor.shape) : tensor
                }
            }
        }
        return result
    }

    /// The `config.json` key listing an export's identity padding blocks.
    public static let identityBlocksKey = "_prunekit_identity_blocks"

    /// The block group of one `Transformer2DModel` (for kept counts; owns no tensors).
    static func blockGroup(of model: Transformer2DModel) -> UnitGroup {
        UnitGroup(moduleKey: model.blockListKey, kind: .block, unitCount: model.blocks.count, slices: [])
    }

    /// `config.json` of this model pruned to `selection`: ``configurationJSON(sourceDirectory:)`` unchanged when no
    /// whole block is removed; otherwise its JSON object (other keys kept) with diffusers' per-layer form:
    /// `transformer_layers_per_block` lists, per down block with attentions, the kept blocks of each attention
    /// (other entries keep their value, the last one the mid block's depth), and
    /// `reverse_transformer_layers_per_block` lists the up blocks' the same way, in up-block order. Where the mid
    /// block and the last down block's first attention keep different numbers of blocks, the shallower is padded
    /// with identity blocks (``identityPadding(for:)``), listed under `_prunekit_identity_blocks` (diffusers ignores
    /// keys starting with `_`).
    /// - Throws: ``ExportError/invalidConfiguration(reason:)``.
    public func prunedConfigurationJSON(sourceDirectory: String?, selection: UnitSelection) throws(ExportError) -> Data {
        let data = try configurationJSON(sourceDirectory: sourceDirectory)
        let models = transformerModels
        guard models.contains(where: { selection.keptUnits(of: Self.blockGroup(of: $0.model)).count < $0.model.blocks.count }) else {
            return data
        }
        let original: UNetConfiguration.TransformerDepths
        do { original = try configuration.resolvedTransformerDepths() } catch { throw .invalidConfiguration(reason: "\(error)") }
        let padding = try identityPadding(for: selection)
        func depth(_ position: TransformerPosition) -> Int? {
            guard let model = models.first(where: { $0.position == position })?.model else { return nil }
            return selection.keptUnits(of: Self.blockGroup(of: model)).count + (padding[model.blockListKey]?.count ?? 0)
        }
        let midDepth = depth(.mid) ?? original.mid
        var down: [Any] = []
        for (block, depths) in original.down.enumerated() {
            if downBlocks[block].attentions.isEmpty {
                down.append(block == original.down.count - 1 ? midDepth : depths.first ?? 0)
            } else {
                down.append(downBlocks[block].attentions.indices.map { depth(.down(block: block, layer: $0))! })
            }
        }
        let up: [Any] = original.up.enumerated().map { block, depths in
            upBlocks[block].attentions.isEmpty
                ? depths.first ?? 0 : upBlocks[block].attentions.indices.map { depth(.up(block: block, layer: $0))! } as Any
        }
        var values: [String: Any] = ["transformer_layers_per_block": down, "reverse_transformer_layers_per_block": up]
        let identity = models.map(\.model).flatMap { model -> [String] in
            let kept = selection.keptUnits(of: Self.blockGroup(of: model)).count
            return (0..<(padding[model.blockListKey]?.count ?? 0)).map { "\(model.blockListKey).\(kept + $0)" }
        }
        if !identity.isEmpty { values[Self.identityBlocksKey] = identity }
        return try ConfigurationJSONEditor.setting(values, removing: [Self.identityBlocksKey], in: data)
    }
}

extension UNetConfiguration {
    /// The block-list key of the `Transformer2DModel` at `position`
    /// (`down_blocks.1.attentions.0.transformer_blocks`, `mid_block.attentions.0.transformer_blocks`, …).
    static func blockListKey(_ position: TransformerPosition) -> String {
        switch position {
        case .down(let block, let layer): "down_blocks.\(block).attentions.\(layer).transformer_blocks"
        case .mid: "mid_block.attentions.0.transformer_blocks"
        case .up(let block, let layer): "up_blocks.\(block).attentions.\(layer).transformer_blocks"
        }
    }

    /// This configuration with the depth of each block list named in `depths` (by list key) replaced: how the
    /// unpruned configuration is recovered from a block-pruned export (its `config.json` plus the original block
    /// counts `prunekit.json` records). Written as plain per-block depths when they describe every attention
    /// (as unpruned SDXL configurations do), else in diffusers' per-layer form with
    /// `reverse_transformer_layers_per_block`.
    /// - Throws: ``UNetConfigurationError`` when the configuration does not resolve, or when the depths break
    ///   diffusers' tie of the mid block to the last down block's first attention.
    public func replacingTransformerDepths(_ depths: [String: Int]) throws(UNetConfigurationError) -> UNetConfiguration {
        var resolved = try resolvedTransformerDepths()
        let key = "transformer_layers_per_block"
        let hasAttention = downBlockTypes.map { $0 == "CrossAttnDownBlock2D" }
        let upHasAttention = upBlockTypes.map { $0 == "CrossAttnUpBlock2D" }
        for block in resolved.down.indices where hasAttention[block] {
            for layer in resolved.down[block].indices {
                if let depth = depths[Self.blockListKey(.down(block: block, layer: layer))] { resolved.down[block][layer] = depth }
            }
        }
        if let depth = depths[Self.blockListKey(.mid)] { resolved.mid = depth }
        for block in resolved.up.indices where upHasAttention[block] {
            for layer in resolved.up[block].indices {
                if let depth = depths[Self.blockListKey(.up(block: block, layer: layer))] { resolved.up[block][layer] = depth }
            }
        }
        if midBlockType != nil, let last = hasAttention.indices.last, hasAttention[last], resolved.down[last].first != resolved.mid {
            throw .invalid(
                key: key, reason: "the mid block's depth \(resolved.mid) differs from the last down block's first attention's \(resolved.down[last].first ?? 0)")
        }
        var result = self
        let last = resolved.down.count - 1
        // Plain form: one depth per down block (the mid block's for a last block without attention), up blocks reversed.
        let plain: [IntOrList] = resolved.down.indices.map { block in
            .single(block == last && !hasAttention[block] && midBlockType != nil ? resolved.mid : resolved.down[block].first ?? 0)
        }
        result.transformerLayersPerBlock = .list(plain)
        result.reverseTransformerLayersPerBlock = nil
        if let check = try? result.resolvedTransformerDepths(), Self.sameAttentionDepths(check, resolved, hasAttention, upHasAttention, midBlockType != nil) {
            return result
        }
        result.transformerLayersPerBlock = .list(resolved.down.indices.map { block in
            hasAttention[block] ? .list(resolved.down[block]) : plain[block]
        })
        result.reverseTransformerLayersPerBlock = resolved.up.indices.map { upHasAttention[$0] ? .list(resolved.up[$0]) : .single(resolved.up[$0].first ?? 0) }
        _ = try result.resolvedTransformerDepths()
        return result
    }

    private static func sameAttentionDepths(
        _ a: TransformerDepths, _ b: TransformerDepths, _ down: [Bool], _ up: [Bool], _ hasMid: Bool
    ) -> Bool {
        down.indices.allSatisfy { !down[$0] || a.down[$0] == b.down[$0] } && up.indices.allSatisfy { !up[$0] || a.up[$0] == b.up[$0] }
            && (!hasMid || a.mid == b.mid)
    }
}
