import Foundation

/// The two subcommands the PyTorch comparison (`Benchmarks/pytorch/compare.sh`) drives:
///
///     prunekit-bench compare-setup WORK [--steps N]
///     prunekit-bench compare-row --work WORK --model sdxl|flux --row forward|backward|iteration|pruned
///         [--batch N] [--percent P] [--warmups N] [--iterations N] --result PATH --output PATH
///
/// See ``ComparisonSetup`` and ``ComparisonRow``. Errors print one line and exit with status 1.
enum ComparisonCommand {
    static let names: Set<String> = ["compare-setup", "compare-row"]

    /// Runs the subcommand named by `arguments[0]` and exits.
    static func main(_ arguments: [String]) -> Never {
        do {
            switch arguments.first {
            case "compare-setup":
                guard arguments.count >= 2 else { throw ComparisonError.badArguments("compare-setup needs a work directory") }
                var steps = 8
                if arguments.count == 4, arguments[2] == "--steps", let value = Int(arguments[3]), value >= 1 {
                    steps = value
                } else if arguments.count != 2 {
                    throw ComparisonError.badArguments("usage: compare-setup WORK [--steps N]")
                }
                try ComparisonSetup.run(work: arguments[1], steps: steps)
            default:
                try ComparisonRow(arguments: Array(arguments.dropFirst())).run()
            }
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("prunekit-bench \(arguments.first ?? ""): \(error)\n".utf8))
            exit(1)
        }
    }
}
