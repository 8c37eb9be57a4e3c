import ArgumentParser
import PruneKit

/// `--kind-penalty-weight KIND=β`: EcoDiff's sparsity weight for one unit kind (heads, neurons, modulation,
/// blocks) in place of `--penalty-weight`.
struct KindPenaltyWeightOption: ExpressibleByArgument, Equatable, CustomStringConvertible {
    let kind: UnitKind
    let weight: Float

    static let names: [(name: String, kind: UnitKind)] = UnitKindsOption.names + [("modulation", .modulationOutput)]

    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let entry = Self.names.first(where: { $0.name == parts[0] || $0.kind.rawValue == parts[0] }),
            let weight = Float(parts[1]), weight >= 0, weight.isFinite
        else { return nil }
        self.kind = entry.kind
        self.weight = weight
    }

    var description: String { "\(Self.names.first { $0.kind == kind }?.name ?? kind.rawValue)=\(weight)" }

    static var defaultValueDescription: String { "none" }

    /// The weights by kind, or a validation error naming a kind given twice.
    static func weights(_ options: [KindPenaltyWeightOption]) throws -> [UnitKind: Float] {
        var weights: [UnitKind: Float] = [:]
        for option in options {
            guard weights.updateValue(option.weight, forKey: option.kind) == nil else {
                throw ValidationError("--kind-penalty-weight names \(option.kind.rawValue) twice")
            }
        }
        return weights
    }
}
