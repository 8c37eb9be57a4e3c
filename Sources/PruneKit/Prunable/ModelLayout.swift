import PruneNN

/// A model's maskable units and parameter shapes: everything planning, counting a pruned model and checking a
/// masks or scores file need, without any weights.
///
/// ```swift
/// let layout = try SDXLArchitecture().layout(preset: "sdxl-base")    // no weights allocated
/// let counts = try PrunedAccounting(layout: layout, selection: selection)
/// ```
public struct ModelLayout: Sendable, Equatable {
    /// The maskable units, in model order.
    public var groups: [UnitGroup]
    /// Every parameter's shape, by checkpoint key.
    public var shapes: [String: [Int]]

    public init(groups: [UnitGroup], shapes: [String: [Int]]) {
        self.groups = groups
        self.shapes = shapes
    }

    /// Total parameter elements.
    public var parameterCount: Int { shapes.values.reduce(0) { $0 + $1.reduce(1, *) } }
}

extension PrunableModel {
    /// This model's unit groups and parameter shapes.
    public var layout: ModelLayout {
        ModelLayout(groups: unitGroups, shapes: parameters.parameters.mapValues(\.shape))
    }

    /// Parameters, heads and FFN neurons, counted from ``layout`` (``ModelAccounting/init(layout:)``).
    public var accounting: ModelAccounting { ModelAccounting(layout: layout) }
}

extension PrunableArchitecture {
    /// The default: builds the preset's model with seeded weights (so it allocates them) and reads its layout.
    /// Built-in architectures and plugin architectures override it with a shapes-only build.
    public func layout(preset: String) throws -> ModelLayout {
        try makeModel(preset: preset, seed: 0).layout
    }

    /// Counts the preset from its ``layout(preset:)`` (``ModelAccounting/init(layout:)``).
    public func accounting(preset: String) throws -> ModelAccounting {
        ModelAccounting(layout: try layout(preset: preset))
    }
}
