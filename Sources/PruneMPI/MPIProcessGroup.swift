import CMPI
import Foundation
import PruneKit

/// The ranks of an MPI launch (`mpirun -np N prunekit …`, `srun prunekit …`) as a ``ProcessGroup`` over
/// `MPI_COMM_WORLD`: sums are `MPI_Allreduce(MPI_SUM)` in place, errors come back as ``ProcessGroupError``
/// (the communicator's handler is `MPI_ERRORS_RETURN`), and ``abort(message:code:)`` is `MPI_Abort`, which
/// ends every rank (the launcher reports which one failed).
///
/// MPI is initialised only when a launcher started this process (``isLaunchedByMPI(_:)``); a plain run
/// never touches MPI, so a single process needs no `mpirun`. Calls are made from one thread at a time
/// (`MPI_THREAD_SERIALIZED`).
public final class MPIProcessGroup: ProcessGroup, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    private var finalized = false
    /// Sums made so far and the seconds spent in them on this rank (waiting for slower ranks included).
    public private(set) var reductions = 0
    public private(set) var reductionSeconds = 0.0

    /// Whether `environment` shows an MPI launcher: Open MPI's `mpirun` (`OMPI_COMM_WORLD_SIZE`), PMIx
    /// (`PMIX_RANK`: Open MPI 4 and `srun --mpi=pmix`) or PMI-1/2 (`PMI_RANK`, `PMI_SIZE`).
    public static func isLaunchedByMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"].contains { environment[$0] != nil }
    }

    /// Initialises MPI and joins `MPI_COMM_WORLD`.
    /// - Throws: ``ProcessGroupError`` when MPI cannot start or lacks serialized thread support.
    public init() throws {
        var provided: Int32 = 0
        try Self.check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided), "MPI_Init_thread")
        guard provided >= Int32(MPI_THREAD_SERIALIZED) else {
            throw ProcessGroupError(operation: "MPI_Init_thread", reason: "the MPI library offers thread level \(provided), PruneKit needs MPI_THREAD_SERIALIZED")
        }
        try Self.check(prunekit_mpi_errors_return(), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0
        var size: Int32 = 0
        try Self.check(prunekit_mpi_rank(&rank), "MPI_Comm_rank")
        try Self.check(prunekit_mpi_size(&size), "MPI_Comm_size")
        self.rank = Int(rank)
        self.size = Int(size)
    }

    public func allReduceSum(_ values: inout [Float]) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { record(since: start) }
        try values.withUnsafeMutableBufferPointer { buffer in
            for start in stride(from: 0, to: buffer.count, by: Self.chunk) {
                let count = Swift.min(Self.chunk, buffer.count - start)
                try Self.check(prunekit_mpi_allreduce_sum_float(buffer.baseAddress! + start, Int32(count)), "MPI_Allreduce")
            }
        }
    }

    public func allReduceSum(_ values: inout [Double]) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { record(since: start) }
        try values.withUnsafeMutableBufferPointer { buffer in
            for start in stride(from: 0, to: buffer.count, by: Self.chunk) {
                let count = Swift.min(Self.chunk, buffer.count - start)
                try Self.check(prunekit_mpi_allreduce_sum_double(buffer.baseAddress! + start, Int32(count)), "MPI_Allreduce")
            }
        }
    }

    public func abort(message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("rank \(rank) of \(size): \(message)\n".utf8))
        _ = prunekit_mpi_abort(code)
        exit(code)  // MPI_Abort does not return; this is for the type checker
    }

    /// Leaves MPI (`MPI_Finalize`, which waits for the other ranks); call once, before the process exits.
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        MPI_Finalize()
    }

    private func record(since start: UInt64) {
        reductions += 1
        reductionSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Elements per MPI call (counts are C ints).
    private static let chunk = 1 << 28

    private static func check(_ code: Int32, _ operation: String) throws {
        guard code != prunekit_mpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        throw ProcessGroupError(operation: operation, reason: String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) + " (MPI error \(code))")
    }
}
