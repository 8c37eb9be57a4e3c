import Dispatch
import Foundation

/// How often each benchmark case runs: untimed warm-up calls, then timed calls whose median is reported.
struct TimingPolicy: Sendable {
    /// Untimed calls before measuring (thread pools spin up, pages get mapped, caches warm).
    var warmups: Int
    /// Timed calls; the median of these is the reported time.
    var iterations: Int
    /// Print every timed sample (to judge noise).
    var printsSamples = false

    /// The full run: three warm-ups, median of seven.
    static let full = TimingPolicy(warmups: 3, iterations: 7)
    /// The CI smoke run: one timed call, no warm-up.
    static let quick = TimingPolicy(warmups: 0, iterations: 1)
}

/// Wall-clock seconds taken by one call of `body`.
func wallSeconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The median of `samples` (the mean of the middle two for an even count).
func median(_ samples: [Double]) -> Double {
    precondition(!samples.isEmpty, "median of no samples")
    let sorted = samples.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Median wall time of `body` under `policy`.
func measure(_ policy: TimingPolicy, _ body: () -> Void) -> Double {
    measure(policy, prepare: {}, { _ in body() })
}

/// Median wall time of `body` under `policy`, where `prepare` runs untimed before every call and hands
/// `body` its input (for example a freshly recorded graph to run backward over).
func measure<State>(_ policy: TimingPolicy, prepare: () -> State, _ body: (State) -> Void) -> Double {
    for _ in 0..<policy.warmups { body(prepare()) }
    var samples: [Double] = []
    for _ in 0..<max(policy.iterations, 1) {
        let state = prepare()
        samples.append(wallSeconds { body(state) })
    }
    if policy.printsSamples { printSamples(samples) }
    return median(samples)
}

/// Median wall times of `body` and of `reference` under `policy`, timed alternately (and in alternating
/// order) so that both see the same machine state; the ratio of the two is then robust to other load.
/// `prepare` runs untimed before every call of `body` and hands it its input.
func measurePair<State>(
    _ policy: TimingPolicy, prepare: () -> State, _ body: (State) -> Void, reference: () -> Void
) -> (seconds: Double, referenceSeconds: Double) {
    for _ in 0..<policy.warmups {
        body(prepare())
        reference()
    }
    var samples: [Double] = []
    var referenceSamples: [Double] = []
    for iteration in 0..<max(policy.iterations, 1) {
        let state = prepare()
        if iteration % 2 == 0 {
            samples.append(wallSeconds { body(state) })
            referenceSamples.append(wallSeconds(reference))
        } else {
            referenceSamples.append(wallSeconds(reference))
            samples.append(wallSeconds { body(state) })
        }
    }
    if policy.printsSamples {
        printSamples(samples)
        printSamples(referenceSamples, label: "reference")
    }
    return (median(samples), median(referenceSamples))
}

/// Prints timing samples in milliseconds.
private func printSamples(_ samples: [Double], label: String = "samples") {
    print("  \(label) ms: " + samples.map { String(format: "%.2f", $0 * 1e3) }.joined(separator: " "))
}

/// ``measurePair(_:prepare:_:reference:)`` without a preparation step.
func measurePair(_ policy: TimingPolicy, _ body: () -> Void, reference: () -> Void)
    -> (seconds: Double, referenceSeconds: Double)
{
    measurePair(policy, prepare: {}, { _ in body() }, reference: reference)
}

/// Keeps `value` observable so the optimiser cannot drop the work that produced it.
@inline(never)
func keepAlive<Value>(_ value: Value) {
    withExtendedLifetime(value) {}
}
