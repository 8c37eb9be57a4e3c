/// One renaming rule from a foreign checkpoint's key names to diffusers / transformers names, as data.
///
/// `source` is a dotted key prefix: the rule applies to the key itself and to every key below it
/// (`source.…`), and the rest of the key is appended to each target. When several rules match a key,
/// the longest `source` wins, so a general block rule (`input_blocks.1.1` → `down_blocks.0.attentions.0`)
/// and a specific inner rule (`input_blocks.1.0.in_layers.0` → `down_blocks.0.resnets.0.norm1`) live side
/// by side. Rules with an index are written once with `{i}` and expanded with ``expanded(_:count:)``.
public struct KeyRule: Sendable, Equatable, CustomStringConvertible {
    /// How the source tensor becomes the target tensor(s).
    public enum Transform: Sendable, Equatable {
        /// The same tensor under the (single) target name.
        case rename
        /// Equal consecutive row blocks, one per target (a fused q/k/v projection's weight or bias).
        case splitRows
        /// The 2-D tensor transposed (OpenCLIP's `text_projection` is stored `[in, out]`).
        case transpose
        /// A 1×1 convolution kernel `[out, in, 1, 1]` (or `[out, in, 1]`) as a linear weight `[out, in]`;
        /// other shapes (biases) are unchanged.
        case squeezeToMatrix
        /// Not presented at all (buffers such as `position_ids`).
        case drop
    }

    public var source: String
    public var targets: [String]
    public var transform: Transform

    /// - Precondition: ``Transform/splitRows`` has two or more targets, ``Transform/drop`` none, the others one.
    public init(_ source: String, _ targets: [String], _ transform: Transform) {
        switch transform {
        case .splitRows: precondition(targets.count >= 2, "rule \(source): a row split needs two or more targets")
        case .drop: precondition(targets.isEmpty, "rule \(source): a dropped key has no target")
        default: precondition(targets.count == 1, "rule \(source): one target expected")
        }
        self.source = source
        self.targets = targets
        self.transform = transform
    }

    /// A plain rename of `source` (and everything below it) to `target`.
    public static func rename(_ source: String, _ target: String) -> KeyRule { KeyRule(source, [target], .rename) }
    /// Keys at or below `source` are not presented.
    public static func drop(_ source: String) -> KeyRule { KeyRule(source, [], .drop) }

    public var description: String { "\(source) → \(targets.joined(separator: ", ")) (\(transform))" }

    /// The rule with `{i}` replaced by `index` in the source and the targets.
    public func instantiated(_ index: Int) -> KeyRule {
        KeyRule(
            source.replacingOccurrences(of: "{i}", with: String(index)),
            targets.map { $0.replacingOccurrences(of: "{i}", with: String(index)) }, transform)
    }

    /// Every rule with `{i}` instantiated for `0..<count`; rules without `{i}` are kept once.
    public static func expanded(_ rules: [KeyRule], count: Int) -> [KeyRule] {
        rules.flatMap { rule in rule.source.contains("{i}") ? (0..<count).map(rule.instantiated) : [rule] }
    }
}
