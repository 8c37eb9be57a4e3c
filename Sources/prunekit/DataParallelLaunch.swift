import Foundation
import PruneKit
import PruneMPI
import PruneTensor

/// How this `prunekit` process takes part in a run: alone, or as one rank of an MPI launch
/// (`mpirun -np N prunekit prune …`, `srun prunekit prune …`). Only rank 0 prints progress and writes outputs.
enum DataParallelLaunch {
    /// Whether this process prints progress (rank 0, or a plain run).
    nonisolated(unsafe) static var printsProgress = true

    /// The process group of this run: an ``MPIProcessGroup`` when an MPI launcher started the process (MPI is
    /// initialised only then), otherwise the single process. Ranks that share a machine split its cores
    /// (`OMPI_COMM_WORLD_LOCAL_SIZE`) unless `PRUNEKIT_THREADS` is set.
    /// - Throws: ``ProcessGroupError`` when MPI cannot start.
    static func group() throws -> any ProcessGroup {
        guard MPIProcessGroup.isLaunchedByMPI() else { return SingleProcessGroup.shared }
        let group = try MPIProcessGroup()
        printsProgress = group.isLeader
        let environment = ProcessInfo.processInfo.environment
        if environment["PRUNEKIT_THREADS"] == nil, let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init), local > 1 {
            // Ranks sharing a machine share its cores.
            ComputeThreads.set(max(1, ProcessInfo.processInfo.activeProcessorCount / local))
        }
        return group
    }

    /// Runs `body` as this rank's part of the run. In a distributed run an error on any rank ends every rank
    /// (`MPI_Abort`, exit status 1, the message naming the rank) instead of leaving the others waiting in a
    /// collective; rank 0 prints the time it spent in all-reduces, and MPI is finalised after `body`.
    static func run(in group: any ProcessGroup, _ body: () throws -> Void) throws {
        guard let mpi = group as? MPIProcessGroup else { return try body() }
        let start = Date()
        do {
            try body()
        } catch {
            mpi.abort(message: "Error: \(error)", code: 1)
        }
        let seconds = Date().timeIntervalSince(start)
        printProgress(
            String(
                format: "data-parallel: %d all-reduces took %.3f s on rank 0 (waiting for other ranks included), %.2f %% of its %.1f s",
                mpi.reductions, mpi.reductionSeconds, 100 * mpi.reductionSeconds / max(seconds, 1e-9), seconds))
        mpi.finalize()
    }
}
