import Foundation

/// The goal a case is judged against.
struct Target: Encodable, Sendable {
    /// What is compared: the engine's throughput as a fraction of raw sgemm, or memory bandwidth.
    enum Kind: String, Encodable, Sendable {
        case sgemmFraction = "sgemm-fraction"
        case bandwidth = "GB/s"
    }

    let kind: Kind
    /// The smallest acceptable value: a fraction (0.95 is 95 %) or GB/s.
    let minimum: Double

    static func sgemmFraction(_ minimum: Double) -> Target { Target(kind: .sgemmFraction, minimum: minimum) }
    static func bandwidth(_ minimum: Double) -> Target { Target(kind: .bandwidth, minimum: minimum) }

    var description: String {
        switch kind {
        case .sgemmFraction: String(format: "≥ %.0f%% sgemm", minimum * 100)
        case .bandwidth: String(format: "≥ %.1f GB/s", minimum)
        }
    }
}

/// The measured figures of one benchmark case.
struct CaseResult: Encodable, Sendable {
    /// The family: `matmul`, `conv2d`, `attention` or `elementwise`.
    let group: String
    /// What ran, with its shape.
    let name: String
    /// Median wall time in seconds.
    let seconds: Double
    /// Floating-point operations per call (compute-bound cases).
    var flops: Double?
    /// GFLOP/s of raw `cblas_sgemm` on the equivalent GEMM shapes, measured in the same run.
    var sgemmGFLOPS: Double?
    /// Bytes read plus written per call (memory-bound cases).
    var bytes: Double?
    let target: Target

    /// The engine's throughput.
    var gflops: Double? { flops.map { $0 / seconds / 1e9 } }
    /// Engine GFLOP/s divided by raw sgemm GFLOP/s.
    var sgemmFraction: Double? {
        guard let gflops, let sgemmGFLOPS, sgemmGFLOPS > 0 else { return nil }
        return gflops / sgemmGFLOPS
    }
    /// Memory traffic per second.
    var gigabytesPerSecond: Double? { bytes.map { $0 / seconds / 1e9 } }

    /// The figure the target is about.
    var measured: Double? {
        switch target.kind {
        case .sgemmFraction: sgemmFraction
        case .bandwidth: gigabytesPerSecond
        }
    }

    /// Whether the target is reached.
    var met: Bool { (measured ?? -.infinity) >= target.minimum }

    private enum CodingKeys: String, CodingKey {
        case group, name, seconds, flops, sgemmGFLOPS, bytes, target
        case gflops, sgemmFraction, gigabytesPerSecond, met
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(group, forKey: .group)
        try container.encode(name, forKey: .name)
        try container.encode(seconds, forKey: .seconds)
        try container.encodeIfPresent(flops, forKey: .flops)
        try container.encodeIfPresent(gflops, forKey: .gflops)
        try container.encodeIfPresent(sgemmGFLOPS, forKey: .sgemmGFLOPS)
        try container.encodeIfPresent(sgemmFraction, forKey: .sgemmFraction)
        try container.encodeIfPresent(bytes, forKey: .bytes)
        try container.encodeIfPresent(gigabytesPerSecond, forKey: .gigabytesPerSecond)
        try container.encode(target, forKey: .target)
        try container.encode(met, forKey: .met)
    }
}

/// The machine and settings a run used.
struct RunInfo: Encodable, Sendable {
    let engineThreads: Int
    let openBLASThreads: Int
    let processors: Int
    let openBLASConfig: String
    let quick: Bool
    let warmups: Int
    let iterations: Int
}

/// Console tables and the JSON file.
enum Report {
    private static let nameWidth = 52

    static func printRunInfo(_ info: RunInfo) {
        print("PruneKit engine benchmarks\(info.quick ? " (quick)" : "")")
        print("threads: engine \(info.engineThreads), OpenBLAS \(info.openBLASThreads), processors \(info.processors)")
        print("OpenBLAS: \(info.openBLASConfig)")
        print("timing: median of \(info.iterations) after \(info.warmups) warm-up(s)")
    }

    /// Prints the header of a group's table.
    static func printHeader(_ title: String) {
        print("\n## \(title)")
        print(
            pad("case", nameWidth) + leftPad("time ms", 10) + leftPad("GFLOP/s", 10) + leftPad("sgemm", 10)
                + leftPad("ratio", 8) + leftPad("GB/s", 8))
    }

    /// Prints one case as a row of its group's table.
    static func printRow(_ result: CaseResult) {
        print(
            pad(result.name, nameWidth) + leftPad(String(format: "%.2f", result.seconds * 1e3), 10)
                + leftPad(format(result.gflops, "%.1f"), 10) + leftPad(format(result.sgemmGFLOPS, "%.1f"), 10)
                + leftPad(format(result.sgemmFraction.map { $0 * 100 }, "%.0f%%"), 8)
                + leftPad(format(result.gigabytesPerSecond, "%.1f"), 8))
    }

    /// Prints target, measured value and verdict for every case.
    static func printSummary(_ results: [CaseResult], quick: Bool) {
        if results.isEmpty { return }
        print("\n## Summary")
        if quick { print("(quick run: the sizes are too small for the targets to mean anything)") }
        print(pad("case", nameWidth) + leftPad("target", 16) + leftPad("measured", 12) + leftPad("met?", 6))
        for result in results {
            let measured: String
            switch result.target.kind {
            case .sgemmFraction: measured = format(result.sgemmFraction.map { $0 * 100 }, "%.1f%%")
            case .bandwidth: measured = format(result.gigabytesPerSecond, "%.1f GB/s")
            }
            print(
                pad(result.name, nameWidth) + leftPad(result.target.description, 16) + leftPad(measured, 12)
                    + leftPad(result.met ? "yes" : "NO", 6))
        }
        let missed = results.filter { !$0.met }.count
        print(missed == 0 ? "\nall \(results.count) targets met" : "\n\(missed) of \(results.count) targets missed")
    }

    /// Writes the run's settings and figures to `path` as pretty-printed JSON.
    static func writeJSON(
        _ results: [CaseResult], models: [ModelResult], loading: LoadingResult?, objective: [ObjectiveMemoryResult],
        info: RunInfo, to path: String
    ) throws {
        struct Document: Encodable {
            let run: RunInfo
            let results: [CaseResult]
            let models: [ModelResult]
            let loading: LoadingResult?
            let objective: [ObjectiveMemoryResult]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(Document(run: info, results: results, models: models, loading: loading, objective: objective))
        try data.write(to: URL(fileURLWithPath: path))
    }

    private static func format(_ value: Double?, _ specifier: String) -> String {
        value.map { String(format: specifier, $0) } ?? "–"
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private static func leftPad(_ text: String, _ width: Int) -> String {
        text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
    }
}
