import Synchronization

/// Counts the floating-point operations of matrix products (`2·m·n·k` per GEMM) — every matmul, linear,
/// convolution and attention product passes through one GEMM entry point, so this is the model's
/// multiply-accumulate work. Element-wise and normalisation work is not counted.
///
/// The counter is process-wide: measure one workload at a time.
public enum OperationCounter {
    private static let count = Atomic<Int>(0)

    /// Operations counted since the process started.
    public static var total: Int { count.load(ordering: .relaxed) }

    /// Runs `body` and returns its result with the GEMM operations it performed.
    public static func counting<Result>(_ body: () throws -> Result) rethrows -> (result: Result, operations: Int) {
        let start = total
        let result = try body()
        return (result, total - start)
    }

    @inline(__always)
    static func add(_ operations: Int) { count.add(operations, ordering: .relaxed) }
}
