import Foundation

/// The processes that share one pruning run (data parallelism over calibration prompts): each knows its rank
/// and the group's size, and all of them can sum vectors together. ``SingleProcessGroup`` is the one process of
/// an ordinary run; `PruneMPI`'s `MPIProcessGroup` spans the ranks of an `mpirun`/`srun` launch.
///
/// Every collective must be called by every rank of the group in the same order with vectors of the same
/// length, as MPI requires; a rank that fails must end the whole group (``abort(message:code:)``) rather than
/// leave the others waiting in a collective.
public protocol ProcessGroup: AnyObject, Sendable {
    /// 0-based, `0..<size`; rank 0 prints, writes snapshots and outputs.
    var rank: Int { get }
    var size: Int { get }
    /// Replaces `values` on every rank with the element-wise sum over all ranks (the same result everywhere).
    /// - Throws: ``ProcessGroupError`` when the transport fails.
    func allReduceSum(_ values: inout [Float]) throws
    /// As ``allReduceSum(_:)-(inout [Float])``, in double precision (statistics whose sums need it).
    func allReduceSum(_ values: inout [Double]) throws
    /// Ends every process of the group with `code` after printing `message` (on this rank's standard error).
    func abort(message: String, code: Int32) -> Never
}

extension ProcessGroup {
    /// Whether this process writes the run's outputs, snapshots and progress.
    public var isLeader: Bool { rank == 0 }
    /// Whether more than one process takes part.
    public var isDistributed: Bool { size > 1 }
}

/// The group of one process: collectives return their input.
public final class SingleProcessGroup: ProcessGroup {
    public static let shared = SingleProcessGroup()
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allReduceSum(_ values: inout [Float]) throws {}
    public func allReduceSum(_ values: inout [Double]) throws {}
    /// Prints `message` and exits with `code` (nothing else to end).
    public func abort(message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(code)
    }
}

/// A collective that failed.
public struct ProcessGroupError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var reason: String
    public init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }
    public var description: String { "distributed \(operation) failed: \(reason)" }
}
