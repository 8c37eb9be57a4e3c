import ArgumentParser
import PruneKit

/// `prunekit criteria`: the registered pruning criteria, one per line.
struct CriteriaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "criteria", abstract: "List the pruning criteria `prunekit prune --criterion` accepts.")

    @OptionGroup var plugins: PluginOptions

    /// One `name  summary` line per registered criterion, in registration order.
    static func lines(registry: CriterionRegistry = .shared) -> [String] {
        let criteria = registry.all
        let width = criteria.map(\.name.count).max() ?? 0
        return criteria.map { $0.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.summary }
    }

    func run() throws {
        for line in Self.lines() { print(line) }
    }
}
