// prunekit-bench: throughput of the PruneTensor engine against raw OpenBLAS sgemm and memory bandwidth.
//
//     prunekit-bench [--quick] [--json PATH] [--only GROUP]... [--samples]
//     prunekit-bench compare-setup | compare-row …   (the PyTorch comparison's steps; see ComparisonCommand)

import CBLAS
import Foundation
import PruneTensor

/// Command-line options.
struct Options {
    /// Small sizes and one timed call per case, for CI smoke runs.
    var quick = false
    /// Where to write the figures as JSON, if anywhere.
    var jsonPath: String?
    /// Print every timed sample.
    var printsSamples = false
    /// Groups to run (see ``allGroups``); all when empty.
    var groups: Set<String> = []

    /// Every benchmark group, in running order.
    static let allGroups = ["loading", "matmul", "conv2d", "attention", "elementwise", "models", "objective", "allreduce"]
    /// Groups that run only when named with `--only` (they take minutes, or need an MPI launch).
    static let optInGroups: Set<String> = ["objective", "allreduce"]

    /// Whether `group` was selected.
    func runs(_ group: String) -> Bool {
        groups.contains(group) || (groups.isEmpty && !Options.optInGroups.contains(group))
    }

    static let usage = """
        usage: prunekit-bench [--quick] [--json PATH] [--only GROUP]... [--samples]
          --quick       small sizes, one iteration (smoke test)
          --json PATH   also write the results as JSON to PATH
          --only GROUP  run only GROUP (loading, matmul, conv2d, attention, elementwise, models,
                        objective, allreduce); repeatable. `objective` (peak memory of one mask-learning
                        iteration at T = 2, 8, 32, checkpointed and not) runs only when named;
                        `allreduce` (a data-parallel step's all-reduce) runs alone, under mpirun.
          --samples     print every timed sample, not just the median
        The thread count follows PRUNEKIT_THREADS (default: all active processors).
        """

    /// Parses `arguments` (without the program name); exits with a message on bad input.
    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "--quick":
                options.quick = true
            case "--json":
                guard let path = remaining.popFirst() else { fail("--json needs a path") }
                options.jsonPath = path
            case "--only":
                guard let group = remaining.popFirst(), allGroups.contains(group) else {
                    fail("--only needs one of \(allGroups.joined(separator: ", "))")
                }
                options.groups.insert(group)
            case "--samples":
                options.printsSamples = true
            case "-h", "--help":
                print(usage)
                exit(0)
            default:
                fail("unknown argument \(argument)")
            }
        }
        return options
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("prunekit-bench: \(message)\n\(usage)\n".utf8))
        exit(2)
    }
}

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == LoadingBenchmark.childFlag {
    LoadingBenchmark.measureLoad(directory: CommandLine.arguments[2])
}
if CommandLine.arguments.count == 5, CommandLine.arguments[1] == ObjectiveMemoryBenchmark.childFlag {
    ObjectiveMemoryBenchmark.measure(
        mode: CommandLine.arguments[2], steps: Int(CommandLine.arguments[3]) ?? 2, quick: CommandLine.arguments[4] == "quick")
}
if CommandLine.arguments.count >= 2, ComparisonCommand.names.contains(CommandLine.arguments[1]) {
    ComparisonCommand.main(Array(CommandLine.arguments.dropFirst()))
}
let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
if options.groups.contains("allreduce") { AllReduceBenchmark.run() }
var policy = options.quick ? TimingPolicy.quick : .full
policy.printsSamples = options.printsSamples
let info = RunInfo(
    engineThreads: ComputeThreads.count, openBLASThreads: Int(openblas_get_num_threads()),
    processors: ProcessInfo.processInfo.activeProcessorCount,
    openBLASConfig: BLASLibrary.summary, quick: options.quick, warmups: policy.warmups,
    iterations: policy.iterations)
Report.printRunInfo(info)
SgemmReference.warmUpMachine(seconds: options.quick ? 0.05 : 1)

// Loading goes first: it measures the growth of resident memory, which earlier groups would blur.
var loadingResult: LoadingResult?
if options.runs("loading") {
    loadingResult = LoadingBenchmark.run(quick: options.quick)
}
var results: [CaseResult] = []
if options.runs("matmul") {
    results += MatmulBenchmarks.run(sizes: options.quick ? [128, 256] : [1024, 2048], policy: policy)
}
if options.runs("conv2d") {
    let cases: [ConvolutionBenchmarks.Case] =
        options.quick
        ? [.init(batch: 1, channels: 32, size: 16), .init(batch: 1, channels: 64, size: 8)]
        : [.init(batch: 1, channels: 320, size: 64), .init(batch: 1, channels: 640, size: 32)]
    results += ConvolutionBenchmarks.run(cases: cases, policy: policy)
}
if options.runs("attention") {
    let attention: AttentionBenchmarks.Case =
        options.quick
        ? .init(batch: 1, heads: 2, depth: 32, tokens: 128) : .init(batch: 1, heads: 8, depth: 64, tokens: 1024)
    results += AttentionBenchmarks.run(cases: [attention], policy: policy)
}
if options.runs("elementwise") {
    results += ElementwiseBenchmarks.run(elements: options.quick ? 1024 * 16 * 16 : 1 << 24, policy: policy)
}
var modelResults: [ModelResult] = []
if options.runs("models") {
    modelResults = ModelBenchmarks.run(policy, quick: options.quick)
}
var objectiveResults: [ObjectiveMemoryResult] = []
if options.runs("objective") {
    objectiveResults = ObjectiveMemoryBenchmark.run(quick: options.quick)
}
Report.printSummary(results, quick: options.quick)

if let path = options.jsonPath {
    do {
        try Report.writeJSON(results, models: modelResults, loading: loadingResult, objective: objectiveResults, info: info, to: path)
        print("wrote \(path)")
    } catch {
        FileHandle.standardError.write(Data("prunekit-bench: cannot write \(path): \(error)\n".utf8))
        exit(1)
    }
}
