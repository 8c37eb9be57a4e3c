import PruneNN

/// What a maskable unit is.
public enum UnitKind: String, Codable, Sendable, CaseIterable {
    /// One attention head: its rows of the q/k/v projections and columns of the output projection(s).
    case attentionHead = "head"
    /// One feed-forward hidden neuron: its row(s) of the up projection and column of the down projection.
    case feedForwardNeuron = "neuron"
    /// One output of an adaptive-norm modulation linear (FLUX `norm1.linear` …), EcoDiff's optional third kind.
    case modulationOutput = "modulation"
    /// One whole transformer block of a list of blocks (`transformer_blocks.N`): every parameter under its key.
    /// Masked, the block's residual contribution is scaled by its mask value (`m·block(x) + (1 − m)·x`), so at 0
    /// the block is the identity; removed, the block goes and the later blocks are renumbered.
    case block
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
///
/// Heads, neurons and modulation outputs own ``slices`` of parameters. A ``UnitKind/block`` group is a list of
/// blocks instead: its ``moduleKey`` is the list (`transformer_blocks`,
/// `down_blocks.1.attentions.0.transformer_blocks`), unit `u` is the block `<moduleKey>.<u>` and owns the whole
/// tensors ``wholeTensors``[u] — every parameter whose key starts with `<moduleKey>.<u>.` — and has no slices.
public struct UnitGroup: Codable, Sendable, Hashable {
    /// The module key, e.g. `down_blocks.1.attentions.0.transformer_blocks.0.attn2` or
    /// `single_transformer_blocks.3.mlp`; for blocks the list's key, e.g. `single_transformer_blocks`.
    public var moduleKey: String
    public var kind: UnitKind
    /// Units in the module (heads, neurons or blocks).
    public var unitCount: Int
    /// The parameter entries each unit owns (all slices together make up the unit's cost).
    public var slices: [ParameterSlice]
    /// For a block group, the checkpoint keys each unit owns whole (`unitCount` lists); empty otherwise.
    public var wholeTensors: [[String]]

    public init(moduleKey: String, kind: UnitKind, unitCount: Int, slices: [ParameterSlice], wholeTensors: [[String]] = []) {
        self.moduleKey = moduleKey
        self.kind = kind
        self.unitCount = unitCount
        self.slices = slices
        self.wholeTensors = wholeTensors
    }

    /// The block group of the list `listKey` with `count` blocks: unit `u` owns every key of `parameterKeys` that
    /// starts with `<listKey>.<u>.`.
    public static func blocks(listKey: String, count: Int, parameterKeys: some Sequence<String>) -> UnitGroup {
        var owned = [[String]](repeating: [], count: count)
        let prefix = listKey + "."
        for key in parameterKeys where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            guard let dot = rest.firstIndex(of: "."), let index = Int(rest[..<dot]), index >= 0, index < count else { continue }
            owned[index].append(key)
        }
        return UnitGroup(moduleKey: listKey, kind: .block, unitCount: count, slices: [], wholeTensors: owned.map { $0.sorted() })
    }

    /// The key prefix of block `unit` (`<moduleKey>.<unit>.`), for block groups.
    public func blockPrefix(ofUnit unit: Int) -> String { "\(moduleKey).\(unit)." }

    /// Whether this group is a list of whole blocks.
    public var isBlockList: Bool { kind == .block }

    /// Parameters removed with one unit: for every slice, `width` × the product of the tensor's other extents;
    /// for a block group, unit 0's tensors (blocks of one list have equal sizes until heads or neurons inside them
    /// are removed; see ``unitParameterCounts(shapes:)``).
    public func parametersPerUnit(shapes: (String) -> [Int]?) -> Int {
        if isBlockList { return unitCount == 0 ? 0 : unitParameterCounts(shapes: shapes)[0] }
        return slices.reduce(0) { total, slice in
            guard let shape = shapes(slice.key) else { return total }
            let others = shape.enumerated().reduce(1) { $1.offset == slice.axis ? $0 : $0 * $1.element }
            return total + slice.width * others
        }
    }

    /// Parameters each unit owns, one count per unit.
    public func unitParameterCounts(shapes: (String) -> [Int]?) -> [Int] {
        guard isBlockList else { return [Int](repeating: parametersPerUnit(shapes: shapes), count: unitCount) }
        return (0..<unitCount).map { unit in
            unit < wholeTensors.count ? wholeTensors[unit].reduce(0) { $0 + (shapes($1)?.reduce(1, *) ?? 0) } : 0
        }
    }
}

extension Sequence where Element == UnitGroup {
    /// For every group inside a block of some block group (its module key starts with `<list>.<u>.`), the block
    /// group's key and the block's index.
    public func enclosingBlocks() -> [String: (list: String, unit: Int)] {
        let lists = filter(\.isBlockList)
        var result: [String: (list: String, unit: Int)] = [:]
        guard !lists.isEmpty else { return result }
        for group in self where !group.isBlockList {
            for list in lists where group.moduleKey.hasPrefix(list.moduleKey + ".") {
                let rest = group.moduleKey.dropFirst(list.moduleKey.count + 1)
                if let index = Int(rest.prefix { $0 != "." }), index < list.unitCount { result[group.moduleKey] = (list.moduleKey, index) }
            }
        }
        return result
    }
}
