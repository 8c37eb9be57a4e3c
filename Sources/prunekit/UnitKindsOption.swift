import ArgumentParser
import PruneKit

/// `--units`: the unit kinds a criterion scores and the plan removes, as a comma-separated list of `heads`,
/// `neurons`, `blocks` (or `all`); `heads,neurons` by default.
struct UnitKindsOption: ExpressibleByArgument, Equatable, CustomStringConvertible {
    /// The kinds chosen.
    let kinds: Set<UnitKind>

    static let names: [(name: String, kind: UnitKind)] = [("heads", .attentionHead), ("neurons", .feedForwardNeuron), ("blocks", .block)]
    /// `heads,neurons`.
    static let standard = UnitKindsOption(kinds: [.attentionHead, .feedForwardNeuron])

    init(kinds: Set<UnitKind>) { self.kinds = kinds }

    init?(argument: String) {
        var kinds: Set<UnitKind> = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if part == "all" {
                kinds.formUnion(Self.names.map(\.kind))
            } else if let entry = Self.names.first(where: { $0.name == part || $0.kind.rawValue == part }) {
                kinds.insert(entry.kind)
            } else {
                return nil
            }
        }
        guard !kinds.isEmpty else { return nil }
        self.kinds = kinds
    }

    var description: String { Self.names.filter { kinds.contains($0.kind) }.map(\.name).joined(separator: ",") }

    static var defaultValueDescription: String { "heads,neurons" }

    /// The groups of `model` of the chosen kinds.
    /// - Throws: ``CLIError/badOption(_:)`` when the model has no unit of a chosen kind.
    func groups(of model: any PrunableModel) throws -> [UnitGroup] {
        let all = model.unitGroups
        for entry in Self.names where kinds.contains(entry.kind) && !all.contains(where: { $0.kind == entry.kind }) {
            throw CLIError.badOption(
                "--units \(entry.name): \(model.architectureName) has no \(entry.name) to prune (its units: "
                    + Self.names.filter { name in all.contains { $0.kind == name.kind } }.map(\.name).joined(separator: ", ") + ")")
        }
        return all.filter { kinds.contains($0.kind) }
    }
}
