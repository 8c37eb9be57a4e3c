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

/// Which calibration prompts this process holds, of how many in all: prompt `p` belongs to rank `p % size`
/// (round-robin, so every optimizer step's prompts spread over the ranks; with 3 ranks and 4 prompts per step
/// the shards are uneven, which is allowed).
public struct CalibrationShard: Sendable {
    public var group: any ProcessGroup
    /// Calibration prompts over all ranks.
    public var promptCount: Int

    public init(group: any ProcessGroup, promptCount: Int) {
        self.group = group
        self.promptCount = promptCount
    }

    /// One process holding all `promptCount` prompts.
    public static func single(promptCount: Int) -> CalibrationShard {
        CalibrationShard(group: SingleProcessGroup.shared, promptCount: promptCount)
    }

    /// The rank that computes prompt `prompt`'s sample and gradients.
    public func owner(ofPrompt prompt: Int) -> Int { prompt % group.size }
    /// This rank's prompts, ascending: the global indices of its calibration samples, in order.
    public var ownedPrompts: [Int] { Array(stride(from: group.rank, to: promptCount, by: group.size)) }
    /// The position of `prompt` among this rank's samples (it must be owned here).
    public func localIndex(ofPrompt prompt: Int) -> Int { prompt / group.size }
}

extension ScoringContext {
    /// Sums per-module statistics over the ranks of ``calibrationShard`` (a no-op for one process): what a
    /// calibration criterion calls once its own prompts are done, so every rank ends with the statistics of all
    /// prompts. Every rank must hold the same keys with vectors of the same lengths.
    /// - Throws: ``ProcessGroupError`` when the keys or lengths differ between ranks or the transport fails.
    public func sumOverRanks(_ statistics: inout [String: [Double]]) throws {
        let group = calibrationShard.group
        guard group.isDistributed else { return }
        let keys = statistics.keys.sorted()
        // Every rank must flatten the same modules and lengths: check the counts first.
        let layout = [Double(keys.count), Double(keys.reduce(0) { $0 + statistics[$1]!.count })]
        var summedLayout = layout
        try group.allReduceSum(&summedLayout)
        guard summedLayout == layout.map({ $0 * Double(group.size) }) else {
            throw ProcessGroupError(
                operation: "statistics sum", reason: "ranks hold different statistics (\(keys.count) modules, \(Int(layout[1])) values on rank \(group.rank))")
        }
        var flat = keys.flatMap { statistics[$0]! }
        try group.allReduceSum(&flat)
        var offset = 0
        for key in keys {
            let count = statistics[key]!.count
            statistics[key] = Array(flat[offset..<(offset + count)])
            offset += count
        }
    }
}
