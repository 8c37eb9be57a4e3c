import PruneNN
import PruneTorchCheckpoint

/// Turns EcoDiff's released λ files (`torch.save` of a list of bf16 vectors, one per module in forward
/// execution order: `attn.pt` with attn1 and attn2 of every transformer block, `ff.pt` with every
/// block's FFN) into binary unit masks for a model, as the official release binarises them
/// (``EcoDiffBinarization``; FFN λ are clamped at 0 first, attention λ are not).
///
/// ```swift
/// let attention = try EcoDiffImport.readLambdas(path: "mask/attn.pt")
/// let ffn = try EcoDiffImport.readLambdas(path: "mask/ff.pt")
/// let result = try EcoDiffImport.binarize(
///     attention: attention, feedForward: ffn, groups: unet.unitGroups, scope: .global, ratios: .release)
/// try result.masks.write(to: "masks.safetensors")
/// ```
public enum EcoDiffImport {
    /// Kept fractions per kind.
    public struct Ratios: Sendable, Equatable {
        public var heads: Double
        public var neurons: Double
        public init(heads: Double, neurons: Double) {
            self.heads = heads
            self.neurons = neurons
        }
        /// The release's SDXL demo (`inference.py` defaults): keep 68 % of heads and 88 % of FFN neurons.
        public static let release = Ratios(heads: 0.68, neurons: 0.88)
    }

    /// λ vectors read from one file, with the file's path for messages.
    public struct Lambdas: Sendable, Equatable {
        public var path: String
        /// One vector per module, in the file's order.
        public var vectors: [[Float]]
        public init(path: String, vectors: [[Float]]) {
            self.path = path
            self.vectors = vectors
        }
    }

    /// What binarisation produced.
    public struct Result: Sendable {
        /// The kept units of every head and neuron group.
        public var selection: UnitSelection
        /// `1` kept / `0` removed, one `[units]` vector per module key (the `mask.<key>` file format).
        public var masks: UnitMasks
        /// Kept and total units per kind.
        public var keptHeads: Int, totalHeads: Int, keptNeurons: Int, totalNeurons: Int
        /// Modules left with no unit (they output only their bias after export).
        public var emptiedModules: [String]
    }

    /// Reads a λ file: a list (or tuple) of one-dimensional floating-point tensors, without Python and
    /// without running anything in the file (``TorchCheckpoint``).
    /// - Throws: ``EcoDiffImportError``.
    public static func readLambdas(path: String) throws(EcoDiffImportError) -> Lambdas {
        let value: TorchValue
        do { value = try TorchCheckpoint.load(path: path) } catch { throw .checkpoint(error) }
        guard let items = value.sequence else { throw .notAList(path: path, found: value.typeName) }
        var vectors: [[Float]] = []
        for (index, item) in items.enumerated() {
            guard case .tensor(let tensor) = item else { throw .notATensor(path: path, index: index, found: item.typeName) }
            guard tensor.shape.count == 1 else { throw .notAVector(path: path, index: index, shape: tensor.shape) }
            guard let values = tensor.floatValues() else { throw .notFloatingPoint(path: path, index: index, dtype: tensor.dtype.rawValue) }
            if let unit = values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(path: path, index: index, unit: unit) }
            vectors.append(values)
        }
        return Lambdas(path: path, vectors: vectors)
    }

    /// Binarises `attention` and `feedForward` λ onto `groups`.
    ///
    /// - Parameters:
    ///   - groups: the model's unit groups in EcoDiff's execution order; the `attentionHead` groups take the
    ///     attention vectors in order and the `feedForwardNeuron` groups the FFN vectors (for an SDXL U-Net,
    ///     `unitGroups` lists attn1, attn2, ff per transformer block: down, mid, up, as EcoDiff's hooks run).
    ///   - scope: global or per-module ranking.
    ///   - ratios: kept fraction of heads and of neurons.
    /// - Throws: ``EcoDiffImportError`` when counts or widths disagree with the model, or a ratio is out of range.
    public static func binarize(
        attention: Lambdas, feedForward: Lambdas, groups: [UnitGroup], scope: EcoDiffBinarization.Scope, ratios: Ratios
    ) throws(EcoDiffImportError) -> Result {
        for (kind, ratio) in [("heads", ratios.heads), ("neurons", ratios.neurons)] where !(ratio >= 0 && ratio <= 1) {
            throw .badRatio(kind: kind, value: ratio)
        }
        let headGroups = groups.filter { $0.kind == .attentionHead }
        let neuronGroups = groups.filter { $0.kind == .feedForwardNeuron }
        try check(attention, against: headGroups, kind: "attention heads")
        try check(feedForward, against: neuronGroups, kind: "FFN neurons")

        // The release clamps FFN λ at 0 when it loads them (ffn_hooker.py `load`); attention λ are ranked as saved.
        let clampedFFN = feedForward.vectors.map { $0.map { max($0, 0) } }
        let headKeep = EcoDiffBinarization.keep(attention.vectors, scope: scope, ratio: ratios.heads)
        let neuronKeep = EcoDiffBinarization.keep(clampedFFN, scope: scope, ratio: ratios.neurons)

        var selection = UnitSelection()
        for (group, flags) in Array(zip(headGroups, headKeep)) + Array(zip(neuronGroups, neuronKeep)) {
            selection.setKept(flags.indices.filter { flags[$0] }, for: group.moduleKey)
        }
        let ordered = groups.filter { $0.kind == .attentionHead || $0.kind == .feedForwardNeuron }
        func count(_ flags: [[Bool]]) -> Int { flags.reduce(0) { $0 + $1.filter { $0 }.count } }
        return Result(
            selection: selection, masks: selection.binaryMasks(for: ordered),
            keptHeads: count(headKeep), totalHeads: headGroups.reduce(0) { $0 + $1.unitCount },
            keptNeurons: count(neuronKeep), totalNeurons: neuronGroups.reduce(0) { $0 + $1.unitCount },
            emptiedModules: ordered.filter { selection.keptUnits(of: $0).isEmpty }.map(\.moduleKey))
    }

    static func check(_ lambdas: Lambdas, against groups: [UnitGroup], kind: String) throws(EcoDiffImportError) {
        guard lambdas.vectors.count == groups.count else {
            throw .moduleCount(path: lambdas.path, kind: kind, found: lambdas.vectors.count, expected: groups.count)
        }
        for (index, (vector, group)) in zip(lambdas.vectors, groups).enumerated() where vector.count != group.unitCount {
            throw .unitCount(
                path: lambdas.path, index: index, module: group.moduleKey, kind: kind, found: vector.count, expected: group.unitCount)
        }
    }
}
