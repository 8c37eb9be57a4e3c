import PruneNN

/// What a maskable unit is.
public enum UnitKind: String, Codable, Sendable, CaseIterable {
    /// One attention head: its rows of the q/k/v projections and columns of the output projection(s).
    case attentionHead = "head"
    /// One feed-forward hidden neuron: its row(s) of the up projection and column of the down projection.
    case feedForwardNeuron = "neuron"
    /// One output of an adaptive-norm modulation linear (FLUX `norm1.linear` …), EcoDiff's optional third kind.
    case modulationOutput = "modulation"
}

/// The entries of one parameter that belong to each unit of a group: unit `u` owns indices
/// `offset + u·width ..< offset + (u+1)·width` along `axis` of the tensor stored under `key`.
///
/// Examples: head `h` of an SDXL attention owns rows `[64h, 64h+64)` of `to_q.weight` (axis 0, offset 0,
/// width 64) and the same columns of `to_out.0.weight` (axis 1); GEGLU neuron `j` owns row `j` and row
/// `inner + j` of `ff.net.0.proj.weight` (two slices, offsets 0 and `inner`, width 1).
public struct ParameterSlice: Codable, Sendable, Hashable {
    /// Checkpoint key of the tensor.
    public var key: String
    /// The axis the units are laid along.
    public var axis: Int
    /// Index of unit 0's first entry along `axis`.
    public var offset: Int
    /// Entries per unit along `axis`.
    public var width: Int

    public init(key: String, axis: Int, offset: Int = 0, width: Int) {
        self.key = key
        self.axis = axis
        self.offset = offset
        self.width = width
    }

    /// The indices along ``axis`` owned by `unit`.
    public func indices(ofUnit unit: Int) -> Range<Int> { (offset + unit * width)..<(offset + (unit + 1) * width) }
}

/// The maskable units of one module: its mask is `mask.<moduleKey>` with `unitCount` values.
public struct UnitGroup: Codable, Sendable, Hashable {
    /// The module key, e.g. `down_blocks.1.attentions.0.transformer_blocks.0.attn2` or
    /// `single_transformer_blocks.3.mlp`.
    public var moduleKey: String
    public var kind: UnitKind
    /// Units in the module (heads or neurons).
    public var unitCount: Int
    /// The parameter entries each unit owns (all slices together make up the unit's cost).
    public var slices: [ParameterSlice]

    public init(moduleKey: String, kind: UnitKind, unitCount: Int, slices: [ParameterSlice]) {
        self.moduleKey = moduleKey
        self.kind = kind
        self.unitCount = unitCount
        self.slices = slices
    }

    /// Parameters removed with one unit: for every slice, `width` × the product of the tensor's other extents.
    public func parametersPerUnit(shapes: (String) -> [Int]?) -> Int {
        slices.reduce(0) { total, slice in
            guard let shape = shapes(slice.key) else { return total }
            let others = shape.enumerated().reduce(1) { $1.offset == slice.axis ? $0 : $0 * $1.element }
            return total + slice.width * others
        }
    }
}
