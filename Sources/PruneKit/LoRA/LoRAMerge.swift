import PruneTensor

/// Merges a LoRA file into a model's weights, the way PEFT, kohya-ss and ComfyUI apply one.
///
/// For each denoiser module (stacked parts, rows exchanged back for ``LoRATarget/swapsHalves``), with
/// `s = strength · alpha / r` (`alpha = r` when the file has none):
/// - `W' = W + s·B·A` (a convolution's `B` `[out, r, 1, 1]` and `A` `[r, in, kh, kw]` multiply as `[out, r]·[r, in·kh·kw]`),
///   plus `strength · diff` for a full difference;
/// - DoRA: `W'' = m ⊙ W' / ‖W'‖`, the norm taken over each output row (`m` `[out]` or `[out, 1]`) or each
///   input column (`m` `[1, in]`), linear weights only;
/// - biases: `b' = b + s·lora_B.bias + strength·diff_b`.
/// Other components' modules (text encoders) are skipped. The results are float32.
///
/// This implementation matches: PEFT `LoraLayer.merge` / `DoraLinearLayer.get_weight_norm` (row norms),
/// kohya-ss `networks/lora.py` `LoRAInfModule.merge_to` (scale `alpha / dim`, convolutions), ComfyUI
/// `comfy/weight_adapter` `weight_decompose` (`dora_scale` per output or per input).
public enum LoRAMerge {
    /// `parameters` with `file` merged in (keys the file does not touch are returned as given).
    ///
    /// - Parameters:
    ///   - parameters: the model's tensors by key (any float dtype).
    ///   - file: the LoRA.
    ///   - resolver: maps the file's module names to the model's modules.
    ///   - strength: the multiplier on every update (1 applies the LoRA as trained).
    /// - Throws: ``LoRAError`` for a key that names no module, a tensor that does not fit the model's shapes,
    ///   or one that cannot be merged (``LoRAError/unsupportedMerge(path:key:reason:)``: LoHa/LoKr factors,
    ///   a Tucker core, a bias update on a layer without bias, DoRA on a convolution).
    public static func merged(
        _ parameters: [String: Tensor], file: SafetensorsFile, resolver: any LoRAModuleResolver, strength: Float = 1
    ) throws(LoRAError) -> [String: Tensor] {
        let inventory = try LoRAInventory(file: file, resolver: resolver)
        let outcome = withoutGradients {
            Result { () throws(LoRAError) -> [String: Tensor] in
                var result = parameters
                for module in inventory.modules {
                    guard let target = module.target else { continue }
                    let geometry = try LoRAModuleGeometry(module: module, target: target, file: file) { parameters[$0]?.shape }
                    try merge(module, target: target, geometry: geometry, file: file, strength: strength, into: &result)
                }
                return result
            }
        }
        return try outcome.get()
    }

    private static func merge(
        _ module: LoRAInventory.Module, target: LoRATarget, geometry: LoRAModuleGeometry, file: SafetensorsFile, strength: Float,
        into result: inout [String: Tensor]
    ) throws(LoRAError) {
        let path = file.path
        if let other = module.otherKeys.first {
            throw .unsupportedMerge(path: path, key: other.key, reason: "\(other.algorithm) updates are not merged by PruneKit")
        }
        if let mid = module.keys[.mid] { throw .unsupportedMerge(path: path, key: mid, reason: "Tucker-decomposed (lora_mid) updates are not merged by PruneKit") }
        func read(_ key: String) throws(LoRAError) -> Tensor {
            do { return try file.tensor(key) } catch { throw .unreadable(path: path, reason: error.description) }
        }
        let alpha = try module.keys[.alpha].map { (key: String) throws(LoRAError) in try read(key).scalars()[0] }
        let scale = strength * (alpha ?? Float(geometry.rank ?? 1)) / Float(geometry.rank ?? 1)

        var weight = stacked(target.parts.map { result[$0 + ".weight"]!.converted(to: .float32) }, swapsHalves: target.swapsHalves)
        if let down = module.keys[.down], let up = module.keys[.up], let rank = geometry.rank {
            let a = try read(down).reshaped([rank, geometry.inputShape.reduce(1, *)])
            let upTensor = try read(up)
            guard upTensor.shape.dropFirst(2).allSatisfy({ $0 == 1 }) else {
                throw .unsupportedMerge(path: path, key: up, reason: "an up factor with a spatial kernel \(upTensor.shape) is not merged by PruneKit")
            }
            let b = upTensor.reshaped([geometry.outputs, rank])
            weight = weight + (matmul(b, a) * scale).reshaped(geometry.weightShape)
        }
        if let diff = module.keys[.diff] { weight = try weight + read(diff) * strength }
        if let magnitudeKey = module.keys[.magnitude] {
            guard geometry.inputShape.count == 1 else {
                throw .unsupportedMerge(path: path, key: magnitudeKey, reason: "DoRA on a convolution is not merged by PruneKit")
            }
            let magnitude = try read(magnitudeKey)
            if geometry.magnitudePerOutput {
                let norms = (weight * weight).sum(axes: [1], keepingDimensions: true).sqrt()
                weight = weight * (magnitude.reshaped([geometry.outputs, 1]) / norms)
            } else {
                let norms = (weight * weight).sum(axes: [0], keepingDimensions: true).sqrt()
                weight = weight * (magnitude.reshaped([1, geometry.inputShape[0]]) / norms)
            }
        }
        for (part, piece) in zip(target.parts, unstacked(weight, rows: geometry.partRows, swapsHalves: target.swapsHalves)) {
            result[part + ".weight"] = piece.contiguous()
        }

        let biasUpdates = [(module.keys[.upBias], scale), (module.keys[.diffBias], strength)].compactMap { entry in entry.0.map { ($0, entry.1) } }
        guard !biasUpdates.isEmpty else { return }
        var biases: [Tensor] = []
        for part in target.parts {
            guard let bias = result[part + ".bias"] else {
                throw .unsupportedMerge(path: path, key: biasUpdates[0].0, reason: "\(part) has no bias")
            }
            biases.append(bias.converted(to: .float32))
        }
        var bias = stacked(biases, swapsHalves: target.swapsHalves)
        for (key, factor) in biasUpdates { bias = try bias + read(key) * factor }
        for (part, piece) in zip(target.parts, unstacked(bias, rows: geometry.partRows, swapsHalves: target.swapsHalves)) {
            result[part + ".bias"] = piece.contiguous()
        }
    }

    /// The parts stacked by rows, in the file's row order.
    static func stacked(_ parts: [Tensor], swapsHalves: Bool) -> Tensor {
        let joined = parts.count == 1 ? parts[0] : concatenate(parts, axis: 0)
        return swapsHalves ? exchangedHalves(joined) : joined
    }

    /// The inverse of ``stacked(_:swapsHalves:)``.
    static func unstacked(_ tensor: Tensor, rows: [Int], swapsHalves: Bool) -> [Tensor] {
        let ordered = swapsHalves ? exchangedHalves(tensor) : tensor
        return rows.count == 1 ? [ordered] : ordered.split(sizes: rows, axis: 0)
    }

    static func exchangedHalves(_ tensor: Tensor) -> Tensor {
        let halves = tensor.chunked(2, axis: 0)
        return concatenate([halves[1], halves[0]], axis: 0)
    }
}
